using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dcis.Crisis.SmsSink;

/// <summary>A submission as a gateway receives it.</summary>
public sealed record SmsSubmission(string To, string Text, string Reference);

/// <summary>A recorded message; <see cref="Receipt"/> is the delivery receipt reported for it, if any.</summary>
public sealed record SmsRecord(long Id, string To, string Text, string Reference, DateTimeOffset ReceivedAt, string? Receipt = null);

/// <summary>Answer to a submission.</summary>
public sealed record SmsAccepted(long Id, bool Duplicate);

/// <summary>Error body.</summary>
public sealed record SmsError(string Error);

/// <summary>Counters.</summary>
public sealed record SmsStats(long Messages, long Duplicates);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SmsSubmission))]
[JsonSerializable(typeof(SmsRecord))]
[JsonSerializable(typeof(List<SmsRecord>))]
[JsonSerializable(typeof(SmsAccepted))]
[JsonSerializable(typeof(SmsError))]
[JsonSerializable(typeof(SmsStats))]
internal sealed partial class SmsJsonContext : JsonSerializerContext;

/// <summary>Messages in memory plus an append-only JSON-lines file, so a sink restart keeps both the
/// record and the deduplication of references. Receipts reported are kept in memory only.</summary>
public sealed class SmsStore : IDisposable
{
    private readonly Lock _lock = new();
    private readonly List<SmsRecord> _messages = [];
    private readonly Dictionary<string, SmsRecord> _byReference = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _receipts = new(StringComparer.Ordinal);
    private readonly StreamWriter _log;
    private long _duplicates;

    public SmsStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (File.Exists(path))
        {
            foreach (var line in File.ReadLines(path).Where(l => l.Length > 0))
            {
                var record = JsonSerializer.Deserialize(line, SmsJsonContext.Default.SmsRecord)!;
                _messages.Add(record);
                _byReference[record.Reference] = record;
            }
        }

        _log = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
    }

    public (SmsRecord Record, bool Duplicate) Add(SmsSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        lock (_lock)
        {
            if (_byReference.TryGetValue(submission.Reference, out var existing))
            {
                _duplicates++;
                return (existing, true);
            }

            var record = new SmsRecord(_messages.Count + 1, submission.To, submission.Text, submission.Reference, DateTimeOffset.UtcNow);
            _messages.Add(record);
            _byReference[record.Reference] = record;
            _log.WriteLine(JsonSerializer.Serialize(record, SmsJsonContext.Default.SmsRecord));
            return (record, false);
        }
    }

    public List<SmsRecord> List(string? to, int limit)
    {
        lock (_lock)
        {
            IEnumerable<SmsRecord> query = Enumerable.Reverse(_messages);
            if (!string.IsNullOrEmpty(to))
            {
                query = query.Where(m => string.Equals(m.To, to, StringComparison.Ordinal));
            }

            return query.Take(Math.Clamp(limit, 1, 100_000))
                .Select(m => _receipts.TryGetValue(m.Reference, out var receipt) ? m with { Receipt = receipt } : m)
                .ToList();
        }
    }

    /// <summary>Records the receipt reported for a reference ("delivered", "undelivered: absent subscriber").</summary>
    public void SetReceipt(string reference, string receipt)
    {
        lock (_lock)
        {
            _receipts[reference] = receipt;
        }
    }

    public SmsStats Stats()
    {
        lock (_lock)
        {
            return new SmsStats(_messages.Count, _duplicates);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _log.Dispose();
        }
    }
}

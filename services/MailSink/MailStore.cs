using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dcis.Crisis.MailSink;

/// <summary>One stored message (headers only; the .eml holds the rest), with the delivery receipt reported for it, if any.</summary>
public sealed record MailRecord(long Id, string MessageId, string From, IReadOnlyList<string> To, string Subject, DateTimeOffset ReceivedAt,
    string? Receipt = null);

/// <summary>Counters.</summary>
public sealed record MailStats(long Messages, long Duplicates);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(MailRecord))]
[JsonSerializable(typeof(List<MailRecord>))]
[JsonSerializable(typeof(MailStats))]
internal sealed partial class MailJsonContext : JsonSerializerContext;

/// <summary>Messages as .eml files in a folder (<c>{id}.eml</c>), indexed in memory; reloaded at start so
/// deduplication on Message-Id survives a sink restart. Receipts reported are kept in memory only.</summary>
public sealed class MailStore
{
    private readonly string _directory;
    private readonly Lock _lock = new();
    private readonly List<MailRecord> _messages = [];
    private readonly HashSet<string> _messageIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _receipts = new(StringComparer.Ordinal);
    private long _duplicates;

    public MailStore(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        foreach (var file in Directory.EnumerateFiles(directory, "*.eml")
                     .OrderBy(f => long.Parse(Path.GetFileNameWithoutExtension(f), CultureInfo.InvariantCulture)))
        {
            var id = long.Parse(Path.GetFileNameWithoutExtension(file), CultureInfo.InvariantCulture);
            var record = Describe(id, File.ReadAllText(file), [], File.GetLastWriteTimeUtc(file));
            _messages.Add(record);
            _messageIds.Add(record.MessageId);
        }
    }

    /// <summary>Stores a message; a duplicate when its Message-Id was stored before (then nothing is written).</summary>
    public (MailRecord Record, bool Duplicate) Add(string from, IReadOnlyList<string> to, string raw)
    {
        lock (_lock)
        {
            var record = Describe(_messages.Count + 1, raw, to, DateTimeOffset.UtcNow) with { From = from };
            if (record.MessageId.Length > 0 && !_messageIds.Add(record.MessageId))
            {
                _duplicates++;
                return (record, true);
            }

            File.WriteAllText(Path.Combine(_directory, record.Id.ToString(CultureInfo.InvariantCulture) + ".eml"), raw);
            _messages.Add(record);
            return (record, false);
        }
    }

    /// <summary>Records the receipt reported for a Message-Id ("delivered", "undelivered: mailbox unavailable").</summary>
    public void SetReceipt(string messageId, string receipt)
    {
        lock (_lock)
        {
            _receipts[messageId] = receipt;
        }
    }

    public List<MailRecord> List(string? to, int limit)
    {
        lock (_lock)
        {
            IEnumerable<MailRecord> query = Enumerable.Reverse(_messages);
            if (!string.IsNullOrEmpty(to))
            {
                query = query.Where(m => m.To.Contains(to, StringComparer.OrdinalIgnoreCase));
            }

            return query.Take(Math.Clamp(limit, 1, 100_000))
                .Select(m => _receipts.TryGetValue(m.MessageId, out var receipt) ? m with { Receipt = receipt } : m)
                .ToList();
        }
    }

    public string? Raw(long id)
    {
        var path = Path.Combine(_directory, id.ToString(CultureInfo.InvariantCulture) + ".eml");
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    public MailStats Stats()
    {
        lock (_lock)
        {
            return new MailStats(_messages.Count, _duplicates);
        }
    }

    private static MailRecord Describe(long id, string raw, IReadOnlyList<string> envelopeTo, DateTimeOffset receivedAt)
    {
        var headers = Headers(raw);
        var to = envelopeTo.Count > 0 ? envelopeTo : [.. (headers.GetValueOrDefault("to") ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];
        return new MailRecord(id, (headers.GetValueOrDefault("message-id") ?? string.Empty).Trim().Trim('<', '>'),
            headers.GetValueOrDefault("from") ?? string.Empty, to, DecodeSubject(headers.GetValueOrDefault("subject") ?? string.Empty), receivedAt);
    }

    private static Dictionary<string, string> Headers(string raw)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? name = null;
        foreach (var line in raw.Split("\r\n"))
        {
            if (line.Length == 0)
            {
                break;
            }

            if ((line[0] == ' ' || line[0] == '\t') && name is not null)
            {
                headers[name] += " " + line.Trim();
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                name = line[..colon].Trim();
                headers.TryAdd(name, line[(colon + 1)..].Trim());
            }
        }

        return headers;
    }

    /// <summary>
    /// Decodes RFC 2047 encoded words (=?utf-8?B?...?= / ?Q?) for display. Only whitespace between two
    /// encoded words is dropped (RFC 2047 §6.2: that is how a long text is split into several words);
    /// whitespace next to plain text is the text's own ("ML : Déconseillé", folded after "ML :").
    /// </summary>
    private static string DecodeSubject(string value)
    {
        var result = new StringBuilder();
        var previousEncoded = false;
        foreach (var part in value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var decoded = EncodedWord(part);
            if (result.Length > 0 && !(previousEncoded && decoded is not null))
            {
                result.Append(' ');
            }

            result.Append(decoded ?? part);
            previousEncoded = decoded is not null;
        }

        return result.ToString();
    }

    private static string? EncodedWord(string part)
    {
        var pieces = part.Split('?');
        if (pieces.Length != 5 || pieces[0] != "=" || pieces[4] != "=")
        {
            return null;
        }

        try
        {
            var bytes = string.Equals(pieces[2], "B", StringComparison.OrdinalIgnoreCase) ? Convert.FromBase64String(pieces[3]) : QDecode(pieces[3]);
            return Encoding.GetEncoding(pieces[1]).GetString(bytes);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            return null; // not a valid encoded word: shown as it is
        }
    }

    private static byte[] QDecode(string text)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '=' && i + 2 < text.Length)
            {
                bytes.Add(Convert.ToByte(text.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                bytes.Add(text[i] == '_' ? (byte)' ' : (byte)text[i]);
            }
        }

        return [.. bytes];
    }
}

using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Consular.Storage;

/// <summary>
/// Writes NotificationRequested batches of one alert version straight into the outbox while the
/// recipients stream past: the envelope (ids, message, expiry) is formatted once by the proto JSON
/// formatter, the recipients array is written with Utf8JsonWriter in the same canonical proto JSON
/// (camelCase names, enum names), so 100,000 recipients cost no protobuf object graph. Rows are
/// the same as <see cref="Outbox.AddAsync"/> writes; batch_count is stamped at the end.
/// </summary>
internal sealed class RecipientBatchWriter : IDisposable
{
    private static readonly string[] ChannelNames = EnumNames("Channel");
    private static readonly string[] LanguageNames = EnumNames("Language");

    private readonly SqliteTransaction _tx;
    private readonly NotificationRequested _envelope;
    private readonly int _size;
    private readonly SqliteCommand _outboxInsert;
    private readonly SqliteCommand _batchInsert;
    private readonly ArrayBufferWriter<byte> _buffer = new(256 * 1024);
    private readonly Utf8JsonWriter _json;
    private readonly List<string> _eventIds = [];
    private int _inBatch;

    public RecipientBatchWriter(SqliteTransaction tx, NotificationRequested envelope, int size)
    {
        ArgumentNullException.ThrowIfNull(tx);
        _tx = tx;
        _envelope = envelope;
        _size = size;
        _json = new Utf8JsonWriter(_buffer);
        _outboxInsert = tx.Connection!.Command(
            Outbox.InsertSql, tx, ("$id", ""), ("$topic", Topics.NotificationRequested), ("$type", NotificationRequested.Descriptor.FullName), ("$data", ""),
            ("$trace", Activity.Current?.Id), ("$at", ""));
        _batchInsert = tx.Connection!.Command("INSERT INTO alert_batches(event_id, alert_id, version) VALUES ($e, $a, $v)", tx,
            ("$e", ""), ("$a", envelope.SourceAlertId), ("$v", envelope.AlertVersion));
    }

    public long Total { get; private set; }

    public int Batches => _eventIds.Count;

    public async Task AddAsync(string registrantId, Language language, List<ChannelAddress> addresses, CancellationToken ct)
    {
        if (_inBatch == 0)
        {
            _json.WriteStartArray();
        }

        _json.WriteStartObject();
        _json.WriteString("recipientId", registrantId);
        _json.WriteString("language", LanguageNames[(int)language]);
        _json.WriteStartArray("addresses");
        foreach (var a in addresses)
        {
            _json.WriteStartObject();
            _json.WriteString("channel", ChannelNames[(int)a.Channel]);
            _json.WriteString("address", a.Address);
            _json.WriteEndObject();
        }

        _json.WriteEndArray();
        _json.WriteEndObject();
        _inBatch++;
        Total++;
        if (_inBatch == _size)
        {
            await FlushAsync(ct);
        }
    }

    /// <summary>Writes the last partial batch and stamps batch_count on every batch.</summary>
    public async Task FinishAsync(CancellationToken ct)
    {
        await FlushAsync(ct);
        await using var stamp = _tx.Connection!.Command(
            "UPDATE outbox SET data = json_set(data, '$.batchCount', $n) WHERE event_id = $e", _tx, ("$n", _eventIds.Count), ("$e", ""));
        foreach (var id in _eventIds)
        {
            stamp.Parameters["$e"].Value = id;
            await stamp.ExecuteNonQueryAsync(ct);
        }
    }

    public void Dispose()
    {
        _json.Dispose();
        _outboxInsert.Dispose();
        _batchInsert.Dispose();
    }

    private static string[] EnumNames(string name)
    {
        var e = CommonReflection.Descriptor.EnumTypes.Single(t => t.Name == name);
        var names = new string[e.Values.Max(v => v.Number) + 1];
        foreach (var v in e.Values)
        {
            names[v.Number] = v.Name;
        }

        return names;
    }

    private async Task FlushAsync(CancellationToken ct)
    {
        if (_inBatch == 0)
        {
            return;
        }

        _json.WriteEndArray();
        _json.Flush();
        var envelope = _envelope.Clone();
        envelope.EventId = Guid.NewGuid().ToString();
        envelope.BatchIndex = _eventIds.Count;
        var head = ProtoJson.Format(envelope);
        var data = string.Concat(head.AsSpan(0, head.Length - 1), ",\"recipients\":", Encoding.UTF8.GetString(_buffer.WrittenSpan), "}");
        _outboxInsert.Parameters["$id"].Value = envelope.EventId;
        _outboxInsert.Parameters["$data"].Value = data;
        _outboxInsert.Parameters["$at"].Value = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        await _outboxInsert.ExecuteNonQueryAsync(ct);
        _batchInsert.Parameters["$e"].Value = envelope.EventId;
        await _batchInsert.ExecuteNonQueryAsync(ct);
        _eventIds.Add(envelope.EventId);
        _buffer.Clear();
        _json.Reset();
        _inBatch = 0;
    }
}

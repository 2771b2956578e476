using System.Text.Json;
using System.Text.Json.Nodes;
using Dcis.Crisis.DevSidecar.PubSub;
using Dcis.Crisis.DevSidecar.Resources;

namespace Dcis.Crisis.DevSidecar.Subscriptions;

/// <summary>
/// Bulk delivery (DAPR-CONTRACT.md §4 item 8), as daprd's bulk subscription does it
/// (pkg/runtime/subscription/bulksubscription.go, bulkresiliency.go, postman/http DeliverBulk): each
/// entry of a batch is parsed, expired entries are dropped, entries are routed and grouped by path, one
/// JSON envelope per path is POSTed under the inbound resiliency policy (a retry re-sends only the
/// entries not yet settled), and the per-entry statuses decide what is acknowledged.
/// </summary>
public sealed partial class Deliverer
{
    /// <summary>The envelope's <c>type</c> (components-contrib <c>DefaultBulkEventType</c>).</summary>
    public const string BulkEventType = "com.dapr.event.sent.bulk";

    /// <summary>What became of one entry of a batch.</summary>
    private enum EntryOutcome
    {
        /// <summary>Not settled yet, or failed (RETRY, no status, unknown status, the POST failed).</summary>
        Failed,

        /// <summary>SUCCESS, or the app answered 404 for the whole batch: acknowledged.</summary>
        Acknowledged,

        /// <summary>DROP: dead-lettered when the subscription has a dead-letter topic, then acknowledged.</summary>
        Dropped,
    }

    private sealed class BulkItem(int index, StreamMessage message, byte[] eventJson, string contentType, string? traceParent, string? traceState)
    {
        public int Index { get; } = index;
        public StreamMessage Message { get; } = message;
        public string EntryId { get; } = Guid.NewGuid().ToString();

        /// <summary>The entry's <c>event</c> as JSON: the stored CloudEvent object, or the base64 string of a raw payload.</summary>
        public byte[] EventJson { get; } = eventJson;

        public string ContentType { get; } = contentType;
        public string? TraceParent { get; } = traceParent;
        public string? TraceState { get; } = traceState;
        public EntryOutcome Outcome { get; set; }
    }

    private static readonly JsonNodeOptions CaseInsensitiveNodes = new() { PropertyNameCaseInsensitive = true };

    /// <summary>
    /// Delivers one batch of a bulk subscription. Returns, per message and in order, whether it may be
    /// acknowledged: SUCCESS, DROP, 404, expired and unroutable entries are; failed entries are
    /// dead-lettered (then acknowledged) when the subscription has a dead-letter topic, else left pending.
    /// </summary>
    public async Task<IReadOnlyList<bool>> DeliverBulkAsync(SubscriptionSpec subscription, PubSubEntry pubsub, IReadOnlyList<StreamMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(pubsub);
        ArgumentNullException.ThrowIfNull(messages);
        var acks = new bool[messages.Count];
        var failed = new List<int>();
        var byPath = new Dictionary<string, List<BulkItem>>(StringComparer.Ordinal);
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            BulkItem item;
            string? path;
            if (subscription.RawPayload)
            {
                // daprd: the entry's event is the payload in base64, content type application/octet-stream.
                var envelope = RawPayloadEnvelope(message, subscription);
                path = subscription.Route(() => envelope, (rule, e) => logger.LogDebug("Rule {Rule} not evaluated for {Id}: {Error}", rule, message.Id, e.Message));
                item = new BulkItem(i, message, JsonSerializer.SerializeToUtf8Bytes(Convert.ToBase64String(message.Data)), "application/octet-stream",
                    NullIfEmpty(Text(envelope["traceparent"])) ?? NullIfEmpty(Text(envelope["traceid"])), NullIfEmpty(Text(envelope["tracestate"])));
            }
            else
            {
                if (!CloudEventFields.TryRead(message.Data, out var fields))
                {
                    logger.LogWarning("Entry {Id} of {Topic} is not a CloudEvent", message.Id, message.Topic);
                    failed.Add(i);
                    continue;
                }

                if (IsExpired(fields))
                {
                    // Expired entries never go into a batch.
                    logger.LogWarning("Dropping expired event {Id} of {Topic}", message.Id, message.Topic);
                    acks[i] = await DropAsync(subscription, pubsub, message, cancellationToken);
                    continue;
                }

                JsonObject? tree = null;
                path = subscription.Route(
                    () => tree ??= (JsonObject)JsonNode.Parse(message.Data)!,
                    (rule, e) => logger.LogDebug("Rule {Rule} not evaluated for {Id}: {Error}", rule, message.Id, e.Message));
                // The stored CloudEvent object goes into the envelope as it is (daprd re-encodes the same object).
                item = new BulkItem(i, message, message.Data, CloudEventEnvelope.CloudEventsContentType, fields.TraceParent ?? fields.TraceId, fields.TraceState);
            }

            if (path is null)
            {
                logger.LogWarning("No route matched event {Id} of {Topic}; dropped", message.Id, message.Topic);
                acks[i] = await DropAsync(subscription, pubsub, message, cancellationToken);
                continue;
            }

            if (!byPath.TryGetValue(path, out var group))
            {
                byPath[path] = group = [];
            }

            group.Add(item);
        }

        var interrupted = false;
        foreach (var (path, items) in byPath)
        {
            interrupted |= !await PostBatchAsync(subscription, pubsub, path, items, cancellationToken);
            foreach (var item in items)
            {
                switch (item.Outcome)
                {
                    case EntryOutcome.Acknowledged:
                        acks[item.Index] = true;
                        break;
                    case EntryOutcome.Dropped:
                        acks[item.Index] = await DropAsync(subscription, pubsub, item.Message, cancellationToken);
                        break;
                    default:
                        failed.Add(item.Index);
                        break;
                }
            }
        }

        if (failed.Count > 0 && !interrupted && !cancellationToken.IsCancellationRequested)
        {
            // daprd: failed entries go to the dead-letter topic (then the batch is acknowledged);
            // without one they are returned as errors and stay pending for redelivery.
            foreach (var index in failed)
            {
                acks[index] = await DeadLetterAsync(subscription, pubsub, messages[index], "bulk delivery failed", cancellationToken);
            }
        }

        return acks;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    /// <summary>
    /// POSTs the entries of one path under the inbound policy; each attempt sends only the entries
    /// still failed. False when delivery was interrupted (shutdown, processing timeout).
    /// </summary>
    private async Task<bool> PostBatchAsync(SubscriptionSpec subscription, PubSubEntry pubsub, string path, List<BulkItem> items, CancellationToken cancellationToken)
    {
        try
        {
            await pubsub.Inbound.ExecuteAsync(async ct =>
            {
                var attempt = items.Where(i => i.Outcome == EntryOutcome.Failed).ToList();
                await PostBulkAsync(path, attempt, subscription, pubsub.Spec.Name, ct);
                var left = attempt.Count(i => i.Outcome == EntryOutcome.Failed);
                if (left > 0)
                {
                    // Not an HTTP status error: matching.httpStatusCodes does not filter it (as in daprd).
                    throw new OperationFailedException($"{left} of {attempt.Count} entries failed during bulk subscribe operation");
                }
            }, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is OperationFailedException or HttpRequestException or IOException or TimeoutException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return false;
            }

            logger.LogWarning("Bulk delivery of {Count} entries of {Topic} to /{Path} failed: {Error}",
                items.Count(i => i.Outcome == EntryOutcome.Failed), subscription.Topic, path.TrimStart('/'), e.Message);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task PostBulkAsync(string path, List<BulkItem> items, SubscriptionSpec subscription, string pubsubName, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, channel.Route(path))
        {
            Content = AppChannel.CloudEventContent(Envelope(items, subscription.Topic, pubsubName), "application/json"),
        };

        // daprd forwards the bulk message's metadata (pubsubName) as headers.
        request.Headers.TryAddWithoutValidation("pubsubName", pubsubName);
        var first = items.FirstOrDefault(i => i.TraceParent is not null);
        request.Headers.TryAddWithoutValidation("traceparent", TraceContext.ChildOf(first?.TraceParent));
        if (first?.TraceState is { Length: > 0 } state)
        {
            request.Headers.TryAddWithoutValidation("tracestate", state);
        }

        using var response = await channel.SendAsync(request, cancellationToken);
        var status = (int)response.StatusCode;
        if (status == 404)
        {
            // Non-retriable: every entry of the batch is acknowledged, none is dead-lettered.
            logger.LogError("App answered 404 for a batch of {Count} entries of {Topic}; dropped", items.Count, subscription.Topic);
            foreach (var item in items)
            {
                item.Outcome = EntryOutcome.Acknowledged;
            }

            return;
        }

        if (status is < 200 or > 299)
        {
            throw new OperationFailedException($"app answered {status} for a batch of {items.Count} entries");
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var statuses = ReadStatuses(text);
        var byId = items.ToDictionary(i => i.EntryId, StringComparer.Ordinal);
        foreach (var (entryId, entryStatus) in statuses)
        {
            if (!byId.TryGetValue(entryId, out var item))
            {
                logger.LogWarning("App answered a status for unknown entry {EntryId}", entryId);
                continue;
            }

            // Go compares the status strings exactly; "" and anything unknown mean RETRY.
            switch (entryStatus)
            {
                case "SUCCESS":
                    item.Outcome = EntryOutcome.Acknowledged;
                    break;
                case "DROP":
                    logger.LogWarning("App asked to DROP entry {Id} of {Topic}", item.Message.Id, item.Message.Topic);
                    item.Outcome = EntryOutcome.Dropped;
                    break;
                default:
                    item.Outcome = EntryOutcome.Failed;
                    break;
            }
        }
    }

    /// <summary>
    /// The app's <c>{"statuses":[{"entryId","status"}]}</c>, decoded as Go's encoding/json does it into
    /// daprd's AppBulkResponse: keys case-insensitive; an empty or malformed body, or a value of the
    /// wrong JSON type (e.g. a numeric status), fails the whole batch.
    /// </summary>
    private static List<(string EntryId, string Status)> ReadStatuses(string text)
    {
        JsonNode? answer;
        try
        {
            answer = JsonNode.Parse(text, CaseInsensitiveNodes);
        }
        catch (JsonException e)
        {
            throw new OperationFailedException($"failed unmarshalling app response for bulk subscribe: {e.Message}");
        }

        var result = new List<(string, string)>();
        if (answer is null)
        {
            return result;
        }

        if (answer is not JsonObject root || root["statuses"] is not (null or JsonArray))
        {
            throw new OperationFailedException("failed unmarshalling app response for bulk subscribe: not {\"statuses\":[...]}");
        }

        foreach (var node in root["statuses"] as JsonArray ?? [])
        {
            if (node is null)
            {
                continue;
            }

            if (node is not JsonObject entry)
            {
                throw new OperationFailedException("failed unmarshalling app response for bulk subscribe: a status is not an object");
            }

            result.Add((GoString(entry["entryId"], "entryId"), GoString(entry["status"], "status")));
        }

        return result;
    }

    private static string GoString(JsonNode? node, string field) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw new OperationFailedException($"failed unmarshalling app response for bulk subscribe: {field} is not a string"),
    };

    /// <summary>daprd's envelope, keys in the order Go's encoder writes a map (sorted).</summary>
    private static byte[] Envelope(List<BulkItem> items, string topic, string pubsubName)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 + items.Sum(i => i.EventJson.Length + 128));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("entries");
            foreach (var item in items)
            {
                writer.WriteStartObject();
                writer.WriteString("entryId", item.EntryId);
                writer.WritePropertyName("event");
                writer.WriteRawValue(item.EventJson, skipInputValidation: true);
                writer.WriteStartObject("metadata");
                foreach (var (key, value) in item.Message.Metadata)
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
                writer.WriteString("contentType", item.ContentType);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteString("id", Guid.NewGuid().ToString());
            writer.WriteStartObject("metadata");
            writer.WriteString("pubsubName", pubsubName);
            writer.WriteEndObject();
            writer.WriteString("pubsubname", pubsubName);
            writer.WriteString("topic", topic);
            writer.WriteString("type", BulkEventType);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}

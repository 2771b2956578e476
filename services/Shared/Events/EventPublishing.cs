using System.Diagnostics;
using System.Text.Json;
using Dapr;
using Dapr.Client;
using Google.Protobuf;

namespace Dcis.Crisis.Shared.Events;

/// <summary>
/// One event ready for the wire: the CloudEvent id and type, the proto JSON data, and the W3C
/// traceparent of the request that caused it (kept so a relay publishing later still links the
/// delivery to the analyst's change).
/// </summary>
public sealed record OutgoingEvent(string Topic, string EventId, string Type, string JsonData, string? TraceParent)
{
    /// <summary>Builds an outgoing event from a proto message, capturing the current trace.</summary>
    public static OutgoingEvent From(string topic, string eventId, IMessage message) =>
        new(topic, eventId, message.Descriptor.FullName, ProtoJson.Format(message), Activity.Current?.Id);
}

/// <summary>Publishes events to the pub/sub. Implementations must be safe to call again with the
/// same events (consumers dedupe on the event id).</summary>
public interface IEventPublisher
{
    /// <summary>Publishes the events; throws if any of them was not accepted.</summary>
    Task PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken);
}

/// <summary>
/// Publishes through the Dapr sidecar. A single event goes through PublishEvent with CloudEvent
/// overrides; several events of one topic and trace go in one bulk publish as ready-made
/// CloudEvents, so a 100-batch fan-out is one call, not a hundred.
/// </summary>
public sealed class DaprEventPublisher(DaprClient dapr) : IEventPublisher
{
    /// <inheritdoc />
    public async Task PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var group in events.GroupBy(e => (e.Topic, e.TraceParent)))
        {
            // Re-enter the trace of the originating request, so the sidecar's envelope carries it.
            using var activity = StartPublishActivity(group.Key.Topic, group.Key.TraceParent);
            var batch = group.ToList();
            if (batch.Count == 1)
            {
                var e = batch[0];
                var metadata = new Dictionary<string, string>
                {
                    ["cloudevent.id"] = e.EventId,
                    ["cloudevent.type"] = e.Type,
                };
                AddTraceParent(metadata, e.TraceParent);
                await dapr.PublishByteEventAsync(Topics.PubSub, e.Topic, System.Text.Encoding.UTF8.GetBytes(e.JsonData),
                    "application/json", metadata, cancellationToken);
                continue;
            }

            var cloudEvents = batch.Select(e =>
            {
                using var doc = JsonDocument.Parse(e.JsonData);
                return new CloudEvent<JsonElement>(doc.RootElement.Clone())
                {
                    Id = e.EventId,
                    Type = e.Type,
                    TraceParent = e.TraceParent,
                };
            }).ToList();
            var bulkMetadata = new Dictionary<string, string>();
            AddTraceParent(bulkMetadata, group.Key.TraceParent);
            var response = await dapr.BulkPublishEventAsync(Topics.PubSub, group.Key.Topic, cloudEvents, bulkMetadata, cancellationToken);
            if (response.FailedEntries.Count > 0)
            {
                throw new InvalidOperationException(
                    $"bulk publish to {group.Key.Topic}: {response.FailedEntries.Count} of {batch.Count} entries failed: {response.FailedEntries[0].ErrorMessage}");
            }
        }
    }

    // The stored traceparent travels as an explicit override too: when the originating request was
    // not sampled, no publish span exists to carry it, and the delivery would lose its trace link.
    private static void AddTraceParent(Dictionary<string, string> metadata, string? traceParent)
    {
        if (!string.IsNullOrEmpty(traceParent))
        {
            metadata["cloudevent.traceparent"] = traceParent;
        }
    }

    private static Activity? StartPublishActivity(string topic, string? traceParent)
    {
        ActivityContext.TryParse(traceParent, null, out var parent);
        var activity = CrisisTelemetry.ActivitySource.StartActivity($"{topic} publish", ActivityKind.Producer, parent);
        activity?.SetTag("messaging.system", "dapr");
        activity?.SetTag("messaging.destination.name", topic);
        return activity;
    }
}

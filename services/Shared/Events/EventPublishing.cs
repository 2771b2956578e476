using System.Diagnostics;
using System.Text.Json;
using Dapr;
using Dapr.Client;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

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
/// overrides (on <see cref="SidecarPublishChannel"/> when there is one); several events of one topic
/// and trace go in one bulk publish as ready-made CloudEvents, so a 100-batch fan-out is one call, not a hundred.
/// </summary>
public sealed class DaprEventPublisher(DaprClient dapr, SidecarPublishChannel? direct = null) : IEventPublisher
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
                var data = System.Text.Encoding.UTF8.GetBytes(e.JsonData);
                if (direct is not null)
                {
                    await direct.PublishAsync(Topics.PubSub, e.Topic, data, "application/json", metadata, cancellationToken);
                }
                else
                {
                    await dapr.PublishByteEventAsync(Topics.PubSub, e.Topic, data, "application/json", metadata, cancellationToken);
                }

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

/// <summary>
/// The sidecar's gRPC PublishEvent, called with the Dapr SDK's generated client on a channel of its
/// own: the same request DaprClient sends, to the same endpoint with the same API token (resolved by the
/// SDK's own <see cref="Dapr.DaprDefaults"/>), without the per-call work DaprClient does besides
/// (it rebuilds its User-Agent from the assembly's attributes by reflection on every call: a fifth of the
/// outbox relay's CPU per event, measured with perf in AdvisoriesBench).
/// </summary>
public sealed class SidecarPublishChannel : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly Autogen.Dapr.DaprClient _client;
    private readonly Metadata _headers;

    /// <summary>A channel to the sidecar at <paramref name="grpcEndpoint"/> (e.g. http://127.0.0.1:50001).</summary>
    public SidecarPublishChannel(string grpcEndpoint, string? apiToken)
    {
        _channel = GrpcChannel.ForAddress(grpcEndpoint, new GrpcChannelOptions { ThrowOperationCanceledOnCancellation = true });
        _client = new Autogen.Dapr.DaprClient(_channel);
        var version = typeof(DaprClient).Assembly.GetName().Version;
        _headers = [new Metadata.Entry("User-Agent", $"dapr-sdk-dotnet/v{version?.ToString(3)} type/client")];
        if (!string.IsNullOrEmpty(apiToken))
        {
            _headers.Add("dapr-api-token", apiToken);
        }
    }

    /// <summary>The sidecar DaprClient would use: <c>DAPR_GRPC_ENDPOINT</c> / <c>DAPR_GRPC_PORT</c>, and <c>DAPR_API_TOKEN</c>.</summary>
    public static SidecarPublishChannel From(IConfiguration configuration) =>
        new(Dapr.DaprDefaults.GetDefaultGrpcEndpoint(configuration), Dapr.DaprDefaults.GetDefaultDaprApiToken(configuration));

    /// <summary>Publishes one event; a refusal surfaces as the sidecar's <see cref="RpcException"/>.</summary>
    public async Task PublishAsync(string pubsub, string topic, byte[] data, string contentType, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var request = new Autogen.PublishEventRequest
        {
            PubsubName = pubsub,
            Topic = topic,
            Data = ByteString.CopyFrom(data),
            DataContentType = contentType,
        };
        foreach (var (key, value) in metadata)
        {
            request.Metadata[key] = value;
        }

        await _client.PublishEventAsync(request, _headers, cancellationToken: cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();
}

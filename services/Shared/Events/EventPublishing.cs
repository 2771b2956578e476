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
/// One event ready for the wire: the CloudEvent id and type, the proto JSON data as UTF-8 (what goes on
/// the wire: the relay reads it from the outbox as stored, without a string in between), and the W3C
/// traceparent of the request that caused it (kept so a relay publishing later still links the
/// delivery to the analyst's change).
/// </summary>
public sealed record OutgoingEvent(string Topic, string EventId, string Type, ReadOnlyMemory<byte> Utf8Data, string? TraceParent)
{
    /// <summary>An event whose JSON data is given as text.</summary>
    public OutgoingEvent(string topic, string eventId, string type, string jsonData, string? traceParent)
        : this(topic, eventId, type, System.Text.Encoding.UTF8.GetBytes(jsonData), traceParent)
    {
    }

    /// <summary>The JSON data as text.</summary>
    public string JsonData => System.Text.Encoding.UTF8.GetString(Utf8Data.Span);

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
/// overrides. Several events of one topic go in one bulk publish, so a 100-batch fan-out is one call,
/// not a hundred: with a <see cref="SidecarPublishChannel"/>, one call per topic whatever their traces
/// (each entry carries its own id, type and traceparent overrides); through DaprClient alone, one call
/// per topic and trace (its bulk entries are ready-made CloudEvents, whose trace the runtime overwrites
/// with the request's).
/// </summary>
public sealed class DaprEventPublisher(DaprClient dapr, SidecarPublishChannel? direct = null) : IEventPublisher
{
    /// <inheritdoc />
    public async Task PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (direct is not null)
        {
            foreach (var group in events.GroupBy(e => e.Topic))
            {
                await PublishDirectAsync(direct, group.Key, group.ToList(), cancellationToken);
            }

            return;
        }

        foreach (var group in events.GroupBy(e => (e.Topic, e.TraceParent)))
        {
            // Re-enter the trace of the originating request, so the sidecar's envelope carries it.
            using var activity = StartPublishActivity(group.Key.Topic, group.Key.TraceParent);
            var batch = group.ToList();
            if (batch.Count == 1)
            {
                var e = batch[0];
                await dapr.PublishByteEventAsync(Topics.PubSub, e.Topic, e.Utf8Data, "application/json", Overrides(e), cancellationToken);
                continue;
            }

            var cloudEvents = batch.Select(e =>
            {
                using var doc = JsonDocument.Parse(e.Utf8Data);
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

    /// <summary>
    /// One topic's events on the sidecar's own channel: PublishEvent for one, else one bulk publish whose
    /// entries each carry their overrides, so that a relay pass gathering the advisories of many changes
    /// (many traces) costs one call and one sidecar request instead of one per event.
    /// </summary>
    private static async Task PublishDirectAsync(SidecarPublishChannel direct, string topic, List<OutgoingEvent> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 1)
        {
            var e = batch[0];
            using var single = StartPublishActivity(topic, e.TraceParent);
            await direct.PublishAsync(Topics.PubSub, topic, e.Utf8Data, "application/json", Overrides(e), cancellationToken);
            return;
        }

        using var activity = StartBulkPublishActivity(topic, batch);
        var entries = batch.Select(e => (e.Utf8Data, (IReadOnlyDictionary<string, string>)Overrides(e))).ToList();
        var failed = await direct.BulkPublishAsync(Topics.PubSub, topic, entries, "application/json", cancellationToken);
        if (failed.Count > 0)
        {
            throw new InvalidOperationException(
                $"bulk publish to {topic}: {failed.Count} of {batch.Count} entries failed: {failed[0].Error}");
        }
    }

    /// <summary>The CloudEvent overrides of one event: its id and type, and the trace that caused it.</summary>
    private static Dictionary<string, string> Overrides(OutgoingEvent e)
    {
        var metadata = new Dictionary<string, string>
        {
            ["cloudevent.id"] = e.EventId,
            ["cloudevent.type"] = e.Type,
        };
        AddTraceParent(metadata, e.TraceParent);
        return metadata;
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
        return StartPublishActivity(topic, parent, links: null);
    }

    private static Activity? StartPublishActivity(string topic, ActivityContext parent, IEnumerable<ActivityLink>? links)
    {
        var activity = CrisisTelemetry.ActivitySource.StartActivity($"{topic} publish", ActivityKind.Producer, parent, links: links);
        activity?.SetTag("messaging.system", "dapr");
        activity?.SetTag("messaging.destination.name", topic);
        return activity;
    }

    // A batch spans many traces: its one span links to each (OpenTelemetry's messaging convention for
    // batches) instead of joining one of them; the deliveries still continue each event's own trace.
    private static Activity? StartBulkPublishActivity(string topic, List<OutgoingEvent> batch)
    {
        var links = new List<ActivityLink>();
        foreach (var traceParent in batch.Select(e => e.TraceParent).Distinct())
        {
            if (ActivityContext.TryParse(traceParent, null, out var context))
            {
                links.Add(new ActivityLink(context));
            }
        }

        var activity = StartPublishActivity(topic, default, links);
        activity?.SetTag("messaging.batch.message_count", batch.Count);
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
    private volatile bool _alphaOnly;

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

    /// <summary>Publishes one event; a refusal surfaces as the sidecar's <see cref="RpcException"/>.
    /// <paramref name="data"/> is sent without a copy: leave it unchanged until the call returns.</summary>
    public async Task PublishAsync(string pubsub, string topic, ReadOnlyMemory<byte> data, string contentType, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var request = new Autogen.PublishEventRequest
        {
            PubsubName = pubsub,
            Topic = topic,
            // The caller's array, not a copy: it is serialised before the call returns.
            Data = UnsafeByteOperations.UnsafeWrap(data),
            DataContentType = contentType,
        };
        foreach (var (key, value) in metadata)
        {
            request.Metadata[key] = value;
        }

        await _client.PublishEventAsync(request, _headers, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// Publishes entries to one topic in one request (ids "0", "1", … as the SDK numbers them), each with
    /// its own metadata; returns the entries the sidecar refused (entry index, error). BulkPublishEvent
    /// first, as the SDK prefers it; a runtime that only has the alpha name answers Unimplemented once.
    /// The entries' data are sent without a copy: leave them unchanged until the call returns.
    /// </summary>
    public async Task<IReadOnlyList<(int Entry, string Error)>> BulkPublishAsync(
        string pubsub, string topic, IReadOnlyList<(ReadOnlyMemory<byte> Data, IReadOnlyDictionary<string, string> Metadata)> entries,
        string contentType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var request = new Autogen.BulkPublishRequest { PubsubName = pubsub, Topic = topic };
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = new Autogen.BulkPublishRequestEntry
            {
                EntryId = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Event = UnsafeByteOperations.UnsafeWrap(entries[i].Data),
                ContentType = contentType,
            };
            foreach (var (key, value) in entries[i].Metadata)
            {
                entry.Metadata[key] = value;
            }

            request.Entries.Add(entry);
        }

        Autogen.BulkPublishResponse response;
        if (!_alphaOnly)
        {
            try
            {
                response = await _client.BulkPublishEventAsync(request, _headers, cancellationToken: cancellationToken);
                return Failed(response);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
            {
                _alphaOnly = true;
            }
        }

        // Obsolete in the SDK, yet the only name runtimes before 1.15 serve.
#pragma warning disable CS0612
        response = await _client.BulkPublishEventAlpha1Async(request, _headers, cancellationToken: cancellationToken);
#pragma warning restore CS0612
        return Failed(response);
    }

    private static List<(int Entry, string Error)> Failed(Autogen.BulkPublishResponse response) =>
        [.. response.FailedEntries.Select(f => (int.Parse(f.EntryId, System.Globalization.CultureInfo.InvariantCulture), f.Error))];

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();
}

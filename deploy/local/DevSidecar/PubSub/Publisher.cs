using System.Globalization;
using Dcis.Crisis.DevSidecar.Resources;
using StackExchange.Redis;

namespace Dcis.Crisis.DevSidecar.PubSub;

/// <summary>A publish request as it arrives over HTTP or gRPC.</summary>
public sealed record PublishRequest(
    string PubsubName,
    string Topic,
    ReadOnlyMemory<byte> Data,
    string? DataContentType,
    IReadOnlyDictionary<string, string>? Metadata,
    string? TraceParent,
    string? TraceState);

/// <summary>One loaded pub/sub: its component, scopes and outbound policy.</summary>
public sealed class PubSubEntry(ComponentSpec spec, RedisStreamsPubSub component, ResiliencyPolicy outbound, ResiliencyPolicy inbound)
{
    public ComponentSpec Spec { get; } = spec;
    public RedisStreamsPubSub Component { get; } = component;
    public ResiliencyPolicy Outbound { get; } = outbound;
    public ResiliencyPolicy Inbound { get; } = inbound;

    private string[] List(string key) =>
        Spec.Metadata.TryGetValue(key, out var v)
            ? v.Replace(" ", "", StringComparison.Ordinal).Split(',', StringSplitOptions.RemoveEmptyEntries)
            : [];

    /// <summary>
    /// Dapr's topic scoping: <c>allowedTopics</c> restricts every app; <c>protectedTopics</c> need a scope;
    /// <c>publishingScopes</c>/<c>subscriptionScopes</c> ("app1=t1,t2;app2=") restrict the apps listed
    /// (an app listed with no topics may use none).
    /// </summary>
    public bool IsAllowed(string topic, string appId, string scopesKey)
    {
        var allowed = List("allowedTopics");
        if (allowed.Length > 0 && !allowed.Contains(topic))
        {
            return false;
        }

        var isProtected = List("protectedTopics").Contains(topic);
        List<string>? scoped = null;
        if (Spec.Metadata.TryGetValue(scopesKey, out var scopes))
        {
            foreach (var entry in scopes.Replace(" ", "", StringComparison.Ordinal).Split(';', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = entry.Split('=', 2);
                if (parts[0] == appId)
                {
                    scoped ??= [];
                    if (parts.Length > 1)
                    {
                        scoped.AddRange(parts[1].Split(',', StringSplitOptions.RemoveEmptyEntries));
                    }
                }
            }
        }

        if (scoped is null)
        {
            return !isProtected;
        }

        return scoped.Contains(topic);
    }
}

/// <summary>The publish path shared by HTTP and gRPC (DAPR-CONTRACT.md §1): validate, scope, envelope, XADD.</summary>
public sealed class Publisher(SidecarOptions options, IReadOnlyDictionary<string, PubSubEntry> pubsubs, ILogger<Publisher> logger)
{
    public IReadOnlyDictionary<string, PubSubEntry> PubSubs { get; } = pubsubs;

    public PubSubEntry Resolve(string pubsubName, string topic)
    {
        if (PubSubs.Count == 0)
        {
            throw DaprApiException.NotConfigured();
        }

        if (pubsubName.Length == 0)
        {
            throw DaprApiException.Empty();
        }

        if (!PubSubs.TryGetValue(pubsubName, out var entry))
        {
            throw DaprApiException.NotFound(pubsubName);
        }

        if (topic.Length == 0)
        {
            throw DaprApiException.TopicEmpty(pubsubName);
        }

        if (!entry.IsAllowed(topic, options.AppId, "publishingScopes"))
        {
            throw DaprApiException.Forbidden(pubsubName, topic, options.AppId);
        }

        return entry;
    }

    /// <summary>Builds what is stored for one event: the envelope bytes, or the raw bytes for rawPayload.</summary>
    public byte[] Prepare(PublishRequest request)
    {
        var rawPayload = false;
        if (request.Metadata?.TryGetValue("rawPayload", out var raw) == true && raw.Length > 0)
        {
            rawPayload = bool.TryParse(raw, out var b) ? b : throw DaprApiException.RequestMetadata(request.PubsubName, $"rawPayload: invalid bool '{raw}'");
        }

        int? ttl = null;
        if (request.Metadata?.TryGetValue("ttlInSeconds", out var ttlText) == true && ttlText.Length > 0)
        {
            ttl = int.TryParse(ttlText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var t) && t >= 0
                ? t
                : throw DaprApiException.RequestMetadata(request.PubsubName, $"ttlInSeconds: invalid value '{ttlText}'");
        }

        if (rawPayload)
        {
            return request.Data.ToArray();
        }

        try
        {
            return CloudEventEnvelope.BuildBytes(new CloudEventEnvelope.Request(
                options.AppId, request.Topic, request.PubsubName, request.DataContentType, request.Data,
                TraceContext.ChildOf(request.TraceParent), request.TraceState ?? "", request.Metadata), ttl);
        }
        catch (FormatException e)
        {
            throw DaprApiException.CloudEventsSer(request.PubsubName, e.Message);
        }
    }

    /// <summary>Publishes one event; <paramref name="metadataField"/> controls whether the metadata map is stored.</summary>
    public async Task PublishAsync(PublishRequest request, bool metadataField, CancellationToken cancellationToken)
    {
        var entry = Resolve(request.PubsubName, request.Topic);
        var bytes = Prepare(request);
        await StoreAsync(entry, request.Topic, bytes, metadataField ? request.Metadata ?? new Dictionary<string, string>() : NullIfEmpty(request.Metadata), cancellationToken);
    }

    public async Task StoreAsync(PubSubEntry entry, string topic, byte[] bytes, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        try
        {
            await entry.Outbound.ExecuteAsync(_ => entry.Component.PublishAsync(topic, bytes, metadata), cancellationToken);
        }
        catch (Exception e) when (e is RedisException or OperationFailedException or TimeoutException)
        {
            logger.LogWarning("Publishing to {Topic} on {PubSub} failed: {Error}", topic, entry.Spec.Name, e.Message);
            throw DaprApiException.PublishMessage(entry.Spec.Name, topic, e.Message);
        }
    }

    public static IReadOnlyDictionary<string, string>? NullIfEmpty(IReadOnlyDictionary<string, string>? metadata) =>
        metadata is null || metadata.Count == 0 ? null : metadata;
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dcis.Crisis.DevSidecar.PubSub;

/// <summary>
/// Builds the CloudEvents envelope exactly as daprd does (components-contrib pubsub/envelope.go,
/// DAPR-CONTRACT.md §2). Keys are written sorted, like Go's encoding/json writes a map.
/// </summary>
public static class CloudEventEnvelope
{
    public const string DefaultType = "com.dapr.event.sent";
    public const string DefaultSource = "Dapr";
    public const string CloudEventsContentType = "application/cloudevents+json";

    /// <summary>Request of one envelope; overrides come from the <c>cloudevent.*</c> metadata keys.</summary>
    public sealed record Request(
        string Source,
        string Topic,
        string PubsubName,
        string? DataContentType,
        ReadOnlyMemory<byte> Data,
        string TraceParent,
        string TraceState,
        IReadOnlyDictionary<string, string>? Metadata);

    public static bool IsCloudEventContentType(string? contentType) =>
        MediaType(contentType) == CloudEventsContentType;

    public static bool IsJsonContentType(string? contentType)
    {
        var media = MediaType(contentType);
        return media is "application/json" or "text/json" || media.EndsWith("+json", StringComparison.Ordinal);
    }

    public static bool IsBinaryContentType(string? contentType) =>
        MediaType(contentType) is "application/octet-stream";

    private static string MediaType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return "";
        }

        var semi = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semi >= 0 ? contentType[..semi] : contentType).Trim().ToLowerInvariant();
    }

    /// <summary>
    /// The stored bytes of the envelope, with <c>expiration</c> for a TTL: the same bytes as
    /// <see cref="Build"/> + <see cref="ApplyTtl"/> + <see cref="Serialize"/>, written in one pass (keys
    /// in sorted order, the data copied from its parsed document) except for publisher CloudEvents.
    /// </summary>
    public static byte[] BuildBytes(Request request, int? ttlSeconds)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (IsCloudEventContentType(request.DataContentType))
        {
            var envelope = FromCloudEvent(request);
            if (ttlSeconds is { } seconds)
            {
                ApplyTtl(envelope, seconds);
            }

            return Serialize(envelope);
        }

        var overrides = Overrides(request.Metadata);
        var traceParent = overrides.GetValueOrDefault("traceparent") ?? overrides.GetValueOrDefault("traceid") ?? request.TraceParent;
        var traceState = overrides.GetValueOrDefault("tracestate") ?? request.TraceState;
        var contentType = string.IsNullOrEmpty(request.DataContentType) ? "text/plain" : request.DataContentType;
        // One buffer and writer per thread, reset for each envelope (this method never awaits).
        var buffer = _threadBuffer ??= new System.Buffers.ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = _threadWriter ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = SerializerOptions.Encoder });
        writer.Reset(buffer);
        {
            writer.WriteStartObject();
            if (request.Data.Length > 0 || request.DataContentType is not null)
            {
                WriteData(writer, contentType, request.Data);
            }

            writer.WriteString("datacontenttype", contentType);
            if (ttlSeconds is { } seconds)
            {
                writer.WriteString("expiration", Expiration(seconds));
            }

            writer.WriteString("id", overrides.GetValueOrDefault("id") ?? Guid.NewGuid().ToString());
            writer.WriteString("pubsubname", request.PubsubName);
            writer.WriteString("source", overrides.GetValueOrDefault("source") ?? request.Source);
            writer.WriteString("specversion", "1.0");
            writer.WriteString("time", Rfc3339(DateTimeOffset.Now));
            writer.WriteString("topic", request.Topic);
            writer.WriteString("traceid", traceParent);
            writer.WriteString("traceparent", traceParent);
            writer.WriteString("tracestate", traceState);
            writer.WriteString("type", overrides.GetValueOrDefault("type") ?? DefaultType);
            writer.WriteEndObject();
        }

        writer.Flush();
        var bytes = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > MaxRetainedBuffer)
        {
            // Do not keep a large event's buffer alive on this thread.
            _threadBuffer = null;
            _threadWriter = null;
        }

        return bytes;
    }

    private const int MaxRetainedBuffer = 64 * 1024;

    [ThreadStatic]
    private static System.Buffers.ArrayBufferWriter<byte>? _threadBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? _threadWriter;

    private static readonly Dictionary<string, string> NoOverrides = new(StringComparer.OrdinalIgnoreCase);

    /// <summary><c>data</c> or <c>data_base64</c>, exactly as <see cref="SetData"/> stores them (both sort before the other keys).</summary>
    private static void WriteData(Utf8JsonWriter writer, string contentType, ReadOnlyMemory<byte> data)
    {
        if (IsJsonContentType(contentType))
        {
            JsonDocument? document = null;
            try
            {
                document = JsonDocument.Parse(data.Length == 0 ? "null"u8.ToArray() : data);
            }
            catch (JsonException)
            {
                // daprd falls back to the body as a string when JSON does not parse.
            }

            if (document is not null)
            {
                using (document)
                {
                    writer.WritePropertyName("data");
                    document.RootElement.WriteTo(writer);
                    return;
                }
            }
        }
        else if (IsBinaryContentType(contentType))
        {
            writer.WriteString("data_base64", Convert.ToBase64String(data.Span));
            return;
        }

        writer.WriteString("data", Encoding.UTF8.GetString(data.Span));
    }

    /// <summary>Builds the envelope; throws <see cref="FormatException"/> when a claimed CloudEvent is not JSON.</summary>
    public static JsonObject Build(Request request)
    {
        if (IsCloudEventContentType(request.DataContentType))
        {
            return FromCloudEvent(request);
        }

        var overrides = Overrides(request.Metadata);
        var traceParent = overrides.GetValueOrDefault("traceparent") ?? overrides.GetValueOrDefault("traceid") ?? request.TraceParent;
        var traceState = overrides.GetValueOrDefault("tracestate") ?? request.TraceState;
        var contentType = string.IsNullOrEmpty(request.DataContentType) ? "text/plain" : request.DataContentType;
        var envelope = new JsonObject
        {
            ["id"] = overrides.GetValueOrDefault("id") ?? Guid.NewGuid().ToString(),
            ["source"] = overrides.GetValueOrDefault("source") ?? request.Source,
            ["type"] = overrides.GetValueOrDefault("type") ?? DefaultType,
            ["specversion"] = "1.0",
            ["datacontenttype"] = contentType,
            ["topic"] = request.Topic,
            ["pubsubname"] = request.PubsubName,
            ["traceid"] = traceParent,
            ["traceparent"] = traceParent,
            ["tracestate"] = traceState,
            ["time"] = Rfc3339(DateTimeOffset.Now),
        };
        if (request.Data.Length > 0 || request.DataContentType is not null)
        {
            SetData(envelope, contentType, request.Data);
        }

        return Sorted(envelope);
    }

    private static void SetData(JsonObject envelope, string contentType, ReadOnlyMemory<byte> data)
    {
        if (IsJsonContentType(contentType))
        {
            try
            {
                envelope["data"] = JsonNode.Parse(data.Span.Length == 0 ? "null"u8 : data.Span);
                return;
            }
            catch (JsonException)
            {
                // daprd falls back to the body as a string when JSON does not parse.
            }
        }
        else if (IsBinaryContentType(contentType))
        {
            envelope["data_base64"] = Convert.ToBase64String(data.Span);
            return;
        }

        envelope["data"] = Encoding.UTF8.GetString(data.Span);
    }

    private static JsonObject FromCloudEvent(Request request)
    {
        JsonObject envelope;
        try
        {
            envelope = JsonNode.Parse(request.Data.Span) as JsonObject
                ?? throw new FormatException("the body is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new FormatException(e.Message, e);
        }

        envelope["traceid"] = request.TraceParent;
        envelope["traceparent"] = request.TraceParent;
        envelope["tracestate"] = request.TraceState;
        envelope["topic"] = request.Topic;
        envelope["pubsubname"] = request.PubsubName;
        envelope.TryAdd("source", DefaultSource);
        envelope.TryAdd("type", DefaultType);
        envelope.TryAdd("specversion", "1.0");
        envelope.TryAdd("time", Rfc3339(DateTimeOffset.Now));
        return Sorted(envelope);
    }

    /// <summary>Adds <c>expiration</c> (UTC, RFC 3339) for a TTL, as daprd does for components without TTL support.</summary>
    public static void ApplyTtl(JsonObject envelope, int ttlSeconds)
    {
        envelope["expiration"] = Expiration(ttlSeconds);
    }

    private static string Expiration(int ttlSeconds) =>
        DateTimeOffset.UtcNow.AddSeconds(ttlSeconds).ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The <c>cloudevent.*</c> overrides, matched case-insensitively like mapstructure's weak decoder.</summary>
    private static Dictionary<string, string> Overrides(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null || metadata.Count == 0)
        {
            // Read-only use by the callers: one shared empty map instead of one per event.
            return NoOverrides;
        }

        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        foreach (var (key, value) in metadata)
        {
            if (key.StartsWith("cloudevent.", StringComparison.OrdinalIgnoreCase) && value.Length > 0)
            {
                var name = key["cloudevent.".Length..].ToLowerInvariant();
                if (name is "id" or "source" or "type" or "traceid" or "tracestate" or "traceparent")
                {
                    result[name] = value;
                }
            }
        }

        return result;
    }

    /// <summary>Go's time.RFC3339: second precision, local offset, "Z" for UTC.</summary>
    public static string Rfc3339(DateTimeOffset time)
    {
        var seconds = time.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        if (time.Offset == TimeSpan.Zero)
        {
            return seconds + "Z";
        }

        var sign = time.Offset < TimeSpan.Zero ? "-" : "+";
        return seconds + sign + time.Offset.Duration().ToString("hh\\:mm", CultureInfo.InvariantCulture);
    }

    private static JsonObject Sorted(JsonObject source)
    {
        var keys = source.Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
        var result = new JsonObject();
        foreach (var key in keys)
        {
            var value = source[key];
            source.Remove(key);
            result[key] = value;
        }

        return result;
    }

    /// <summary>Serialises the envelope as compact UTF-8 JSON, without escaping non-ASCII text.</summary>
    public static byte[] Serialize(JsonObject envelope) =>
        JsonSerializer.SerializeToUtf8Bytes(envelope, SerializerOptions);

    public static readonly JsonSerializerOptions SerializerOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

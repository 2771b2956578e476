using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapr;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Dcis.Crisis.Shared.Events;

/// <summary>What the sidecar told us about an inbound event, besides its data.</summary>
public sealed record IncomingEvent(string Id, string Type, string Topic, string? TraceParent);

/// <summary>Handles one inbound event type. Must be idempotent (use the inbox).</summary>
public interface IEventConsumer<in TEvent>
    where TEvent : IMessage
{
    /// <summary>Applies the event. Throwing makes the sidecar retry, then dead-letter.</summary>
    Task HandleAsync(TEvent message, IncomingEvent context, CancellationToken cancellationToken);
}

/// <summary>
/// An optional faster parser of one event type's JSON data (register it in DI as a singleton): the subscription
/// endpoint uses it instead of <see cref="ProtoJson.Parse{T}(ArraySegment{byte})"/>. It must give the same message
/// for every input ProtoJson accepts and throw what ProtoJson throws otherwise: the simple way is to handle the
/// canonical form and hand anything else to ProtoJson.
/// </summary>
public interface IEventDataParser<TEvent>
    where TEvent : IMessage<TEvent>, new()
{
    /// <summary>Parses UTF-8 proto JSON (the event's data).</summary>
    TEvent Parse(ArraySegment<byte> utf8Json);
}

/// <summary>
/// Maps subscription endpoints: one POST route per topic, declared to Dapr through
/// <c>MapSubscribeHandler</c> with its dead-letter topic, guarded by the app API token.
/// </summary>
/// <remarks>
/// A subscription endpoint reads a structured CloudEvent (<c>application/cloudevents+json</c>) itself,
/// straight from the request bytes, with what Dapr's <c>UseCloudEvents</c> middleware would have given it:
/// <c>data</c> (a JSON value, or the text of a JSON string when <c>datacontenttype</c> is not JSON),
/// or the decoded <c>data_base64</c> (both present: 400); <c>id</c> and <c>type</c> as the middleware's
/// <c>Cloudevent.id</c>/<c>Cloudevent.type</c> headers would carry them (a header the request already has wins).
/// The middleware is skipped for these endpoints (<see cref="Hosting.CrisisHostingExtensions.MapCrisisDefaults"/>),
/// which saves parsing the envelope into a document, re-serialising <c>data</c> and building the body as a string.
/// Any other body (raw payloads, or one the middleware already unwrapped in a host that runs it) is the data itself.
/// </remarks>
public static class SubscriptionEndpoints
{
    /// <summary>Subscribes <typeparamref name="THandler"/> to a topic.</summary>
    public static RouteHandlerBuilder MapSubscription<TEvent, THandler>(this IEndpointRouteBuilder endpoints, string topic)
        where TEvent : IMessage<TEvent>, new()
        where THandler : IEventConsumer<TEvent>
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapPost($"events/{topic}", (HttpContext http, CancellationToken ct) => HandleAsync<TEvent, THandler>(http, topic, ct))
            .WithTopic(new TopicOptions { PubsubName = Topics.PubSub, Name = topic, DeadLetterTopic = Topics.DeadLetter(topic) })
            .WithMetadata(ReadsCloudEventEnvelope.Instance)
            .AllowAnonymous()
            .AddEndpointFilter(RequireAppToken);
    }

    /// <summary>
    /// Only the sidecar may call subscription endpoints: when <c>APP_API_TOKEN</c> is set, the
    /// request must carry it in <c>dapr-api-token</c>.
    /// </summary>
    public static async ValueTask<object?> RequireAppToken(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var expected = context.HttpContext.RequestServices.GetRequiredService<IConfiguration>()["APP_API_TOKEN"];
        if (!string.IsNullOrEmpty(expected))
        {
            var given = context.HttpContext.Request.Headers["dapr-api-token"].ToString();
            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected)))
            {
                return Results.Unauthorized();
            }
        }

        return await next(context);
    }

    private static async Task<IResult> HandleAsync<TEvent, THandler>(HttpContext http, string topic, CancellationToken ct)
        where TEvent : IMessage<TEvent>, new()
        where THandler : IEventConsumer<TEvent>
    {
        var services = http.RequestServices;
        var (buffer, length) = await ReadBodyAsync(http.Request, ct);
        TEvent message;
        string? envelopeId = null, envelopeType = null;
        try
        {
            try
            {
                if (CloudEventEnvelope.IsStructured(http.Request.ContentType, out var charset))
                {
                    var envelope = CloudEventEnvelope.Read(Utf8(buffer, length, charset));
                    if (envelope.Kind == CloudEventData.Both)
                    {
                        // As UseCloudEvents: data and data_base64 together is a bad request.
                        return Results.StatusCode(StatusCodes.Status400BadRequest);
                    }

                    (envelopeId, envelopeType) = (envelope.Id, envelope.Type);
                    message = envelope.Kind == CloudEventData.Text
                        ? ProtoJson.Parse<TEvent>(envelope.Text!)
                        : ParseData<TEvent>(services, envelope.Data);
                }
                else
                {
                    message = ParseData<TEvent>(services, new ArraySegment<byte>(buffer, 0, length));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or JsonException or FormatException)
        {
            // A poison message never parses: retrying is pointless, so DROP sends it to the dead letters.
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Dcis.Crisis.Subscriptions")
                .LogWarning(ex, "Dropping unparseable {Type} event on {Topic}", typeof(TEvent).Name, topic);
            return Results.Json(new { status = "DROP" });
        }

        var context = new IncomingEvent(
            Header(http, "Cloudevent.id") ?? NullIfEmpty(envelopeId) ?? string.Empty,
            Header(http, "Cloudevent.type") ?? NullIfEmpty(envelopeType) ?? message.Descriptor.FullName,
            topic,
            Header(http, "traceparent"));
        var handler = services.GetRequiredService<THandler>();
        await handler.HandleAsync(message, context, ct);
        return Results.Ok();
    }

    private static TEvent ParseData<TEvent>(IServiceProvider services, ArraySegment<byte> utf8Json)
        where TEvent : IMessage<TEvent>, new() =>
        services.GetService<IEventDataParser<TEvent>>() is { } parser ? parser.Parse(utf8Json) : ProtoJson.Parse<TEvent>(utf8Json);

    /// <summary>The request body in a pooled buffer (return it to <see cref="ArrayPool{T}.Shared"/>).</summary>
    private static async Task<(byte[] Buffer, int Length)> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        var expected = request.ContentLength is > 0 and <= int.MaxValue ? (int)request.ContentLength.Value : -1;
        var buffer = ArrayPool<byte>.Shared.Rent(expected > 0 ? expected : 16 * 1024);
        var length = 0;
        try
        {
            while (length != expected)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), ct);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            return (buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>The envelope as UTF-8: the buffer itself, or re-encoded when the request declares another charset.</summary>
    private static ArraySegment<byte> Utf8(byte[] buffer, int length, string charset)
    {
        if (string.Equals(charset, Encoding.UTF8.WebName, StringComparison.OrdinalIgnoreCase))
        {
            return new ArraySegment<byte>(buffer, 0, length);
        }

        var encoding = Encoding.GetEncoding(charset);
        using var reader = new StreamReader(new MemoryStream(buffer, 0, length, writable: false), encoding);
        return Encoding.UTF8.GetBytes(reader.ReadToEnd());
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string? Header(HttpContext http, string name) =>
        http.Request.Headers.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value.ToString() : null;
}

/// <summary>Endpoint metadata: the endpoint reads structured CloudEvents itself, so the CloudEvents middleware skips it.</summary>
internal sealed class ReadsCloudEventEnvelope
{
    public static readonly ReadsCloudEventEnvelope Instance = new();

    private ReadsCloudEventEnvelope()
    {
    }
}

/// <summary>Which data a structured CloudEvent carries.</summary>
internal enum CloudEventData
{
    /// <summary>Neither <c>data</c> nor <c>data_base64</c>: the data is empty.</summary>
    None,

    /// <summary><c>data</c> as JSON: <see cref="CloudEventEnvelope.Data"/> is its UTF-8 JSON text.</summary>
    Json,

    /// <summary><c>data</c> is a JSON string and <c>datacontenttype</c> is not JSON: <see cref="CloudEventEnvelope.Text"/> is the string.</summary>
    Text,

    /// <summary><c>data_base64</c>: <see cref="CloudEventEnvelope.Data"/> is the decoded bytes.</summary>
    Base64,

    /// <summary>Both <c>data</c> and <c>data_base64</c>: a bad request.</summary>
    Both,
}

/// <summary>
/// A structured CloudEvent read in one pass over its UTF-8 bytes, with the data rules of Dapr.AspNetCore's
/// CloudEventsMiddleware: attribute names matched ignoring case; <c>data</c> is JSON when <c>datacontenttype</c>
/// is absent, unparseable, <c>application/json</c> or <c>*+json</c>, or when <c>data</c> is not a JSON string;
/// <c>id</c>/<c>type</c> as the raw JSON text of the first such attribute without its quotes.
/// </summary>
internal readonly record struct CloudEventEnvelope(CloudEventData Kind, ArraySegment<byte> Data, string? Text, string? Id, string? Type)
{
    private const string MediaType = "application/cloudevents+json";

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>Whether the request is a structured CloudEvent (as the middleware decides it), and its charset (default UTF-8).</summary>
    public static bool IsStructured(string? contentType, out string charset)
    {
        charset = "utf-8";
        if (contentType is null || !contentType.StartsWith(MediaType, StringComparison.Ordinal)
            || !MediaTypeHeaderValue.TryParse(contentType, out var parsed) || !parsed.MediaType.Equals(MediaType, StringComparison.Ordinal))
        {
            return false;
        }

        if (parsed.Charset.Length > 0)
        {
            charset = parsed.Charset.Value!;
        }

        return true;
    }

    /// <summary>Reads the envelope; throws <see cref="JsonException"/> when it is not a JSON object,
    /// <see cref="FormatException"/> when <c>data_base64</c> is not base64.</summary>
    public static CloudEventEnvelope Read(ArraySegment<byte> utf8)
    {
        if (utf8.AsSpan().StartsWith(Utf8Bom))
        {
            utf8 = utf8[Utf8Bom.Length..];
        }

        var json = utf8.AsSpan();
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("a structured CloudEvent must be a JSON object");
        }

        var dataStart = -1;
        var dataEnd = -1;
        var dataIsString = false;
        var base64Start = -1;
        var base64End = -1;
        string? dataContentType = null;
        string? id = null;
        string? type = null;
        bool haveId = false, haveType = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var end = (int)reader.BytesConsumed;
            if (name.Equals("data", StringComparison.OrdinalIgnoreCase))
            {
                (dataStart, dataEnd, dataIsString) = (start, end, reader.TokenType == JsonTokenType.String);
            }
            else if (name.Equals("data_base64", StringComparison.OrdinalIgnoreCase))
            {
                (base64Start, base64End) = (start, end);
            }
            else if (name.Equals("datacontenttype", StringComparison.OrdinalIgnoreCase))
            {
                dataContentType = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (!haveId && name.Equals("id", StringComparison.OrdinalIgnoreCase))
            {
                (haveId, id) = (true, RawText(json[start..end]));
            }
            else if (!haveType && name.Equals("type", StringComparison.OrdinalIgnoreCase))
            {
                (haveType, type) = (true, RawText(json[start..end]));
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.CurrentDepth != 0 || reader.Read())
        {
            throw new JsonException("a structured CloudEvent must be one JSON object");
        }

        if (dataStart >= 0 && base64Start >= 0)
        {
            return new CloudEventEnvelope(CloudEventData.Both, default, null, id, type);
        }

        if (dataStart >= 0)
        {
            var data = utf8.Slice(dataStart, dataEnd - dataStart);
            if (dataIsString && !IsJsonContentType(dataContentType))
            {
                var text = new Utf8JsonReader(data);
                text.Read();
                return new CloudEventEnvelope(CloudEventData.Text, default, text.GetString(), id, type);
            }

            return new CloudEventEnvelope(CloudEventData.Json, data, null, id, type);
        }

        if (base64Start >= 0)
        {
            var value = new Utf8JsonReader(json[base64Start..base64End]);
            value.Read();
            if (value.TokenType != JsonTokenType.String)
            {
                throw new FormatException("data_base64 must be a base64 string");
            }

            return new CloudEventEnvelope(CloudEventData.Base64, value.GetBytesFromBase64(), null, id, type);
        }

        return new CloudEventEnvelope(CloudEventData.None, default, null, id, type);
    }

    /// <summary>JSON is assumed when the data content type is absent or unparseable (as the middleware does).</summary>
    private static bool IsJsonContentType(string? dataContentType) =>
        dataContentType is null || !MediaTypeHeaderValue.TryParse(dataContentType, out var parsed)
        || parsed.MediaType.Equals("application/json", StringComparison.Ordinal)
        || parsed.Suffix.EndsWith("+json", StringComparison.Ordinal);

    /// <summary>The attribute's raw JSON text without surrounding quotes, as the middleware forwards it in a header.</summary>
    private static string RawText(ReadOnlySpan<byte> raw) => Encoding.UTF8.GetString(raw).Trim('"');
}

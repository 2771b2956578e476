using System.Security.Cryptography;
using System.Text;
using Dapr;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

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
/// Maps subscription endpoints: one POST route per topic, declared to Dapr through
/// <c>MapSubscribeHandler</c> with its dead-letter topic, guarded by the app API token.
/// </summary>
public static class SubscriptionEndpoints
{
    /// <summary>Subscribes <typeparamref name="THandler"/> to a topic.</summary>
    public static RouteHandlerBuilder MapSubscription<TEvent, THandler>(this IEndpointRouteBuilder endpoints, string topic)
        where TEvent : IMessage<TEvent>, new()
        where THandler : IEventConsumer<TEvent>
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapPost($"events/{topic}", async (HttpContext http, CancellationToken ct) =>
            {
                var services = http.RequestServices;
                var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Dcis.Crisis.Subscriptions");
                string body;
                using (var reader = new StreamReader(http.Request.Body, Encoding.UTF8))
                {
                    body = await reader.ReadToEndAsync(ct);
                }

                TEvent message;
                try
                {
                    message = ProtoJson.Parse<TEvent>(body);
                }
                catch (InvalidProtocolBufferException ex)
                {
                    // A poison message never parses: retrying is pointless, so DROP sends it to the dead letters.
                    logger.LogWarning(ex, "Dropping unparseable {Type} event on {Topic}", typeof(TEvent).Name, topic);
                    return Results.Json(new { status = "DROP" });
                }

                var context = new IncomingEvent(
                    Header(http, "Cloudevent.id") ?? string.Empty,
                    Header(http, "Cloudevent.type") ?? message.Descriptor.FullName,
                    topic,
                    Header(http, "traceparent"));
                var handler = services.GetRequiredService<THandler>();
                await handler.HandleAsync(message, context, ct);
                return Results.Ok();
            })
            .WithTopic(new TopicOptions { PubsubName = Topics.PubSub, Name = topic, DeadLetterTopic = Topics.DeadLetter(topic) })
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

    private static string? Header(HttpContext http, string name) =>
        http.Request.Headers.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value.ToString() : null;
}

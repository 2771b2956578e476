using System.Collections.Concurrent;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>One request the sidecar made to the app, captured before <c>UseCloudEvents</c> rewrote it.</summary>
public sealed record Delivery(string Path, string ContentType, string RawBody, IReadOnlyDictionary<string, string> Headers)
{
    public System.Text.Json.Nodes.JsonObject CloudEvent =>
        (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(RawBody)!;
}

/// <summary>
/// A Dapr.AspNetCore subscriber on real Kestrel (free HTTP/1.1 port): UseCloudEvents,
/// MapSubscribeHandler and the endpoints a test maps with WithTopic. Every request is recorded.
/// </summary>
public sealed class SubscriberApp : IAsyncDisposable
{
    private SubscriberApp(WebApplication app, int port)
    {
        App = app;
        Port = port;
    }

    public WebApplication App { get; }
    public int Port { get; }
    public ConcurrentQueue<Delivery> Deliveries { get; } = new();

    /// <summary>The headers of every <c>GET /dapr/subscribe</c> the sidecar made.</summary>
    public ConcurrentQueue<IReadOnlyDictionary<string, string>> SubscribeFetches { get; } = new();

    public static async Task<SubscriberApp> StartAsync(Action<WebApplication> map, int? port = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var chosen = port ?? FreePort.Next();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(chosen, o => o.Protocols = HttpProtocols.Http1));
        builder.Services.AddDaprClient();
        var app = builder.Build();
        var subscriber = new SubscriberApp(app, chosen);
        app.Use(async (context, next) =>
        {
            if (HttpMethods.IsPost(context.Request.Method))
            {
                context.Request.EnableBuffering();
                using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
                var body = await reader.ReadToEndAsync(context.RequestAborted);
                context.Request.Body.Position = 0;
                subscriber.Deliveries.Enqueue(new Delivery(
                    context.Request.Path.Value!.TrimStart('/'),
                    context.Request.ContentType ?? "",
                    body,
                    context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            }

            else if (context.Request.Path == "/dapr/subscribe")
            {
                subscriber.SubscribeFetches.Enqueue(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
            }

            await next(context);
        });
        app.UseCloudEvents();
        app.MapSubscribeHandler();
        map(app);
        await app.StartAsync();
        return subscriber;
    }

    /// <summary>The deliveries to <paramref name="path"/> whose raw body contains <paramref name="marker"/>.</summary>
    public List<Delivery> To(string path, string marker) =>
        [.. Deliveries.Where(d => d.Path == path && d.RawBody.Contains(marker, StringComparison.Ordinal))];

    /// <summary>Waits until at least <paramref name="count"/> such deliveries arrived.</summary>
    public async Task<List<Delivery>> WaitForAsync(string path, string marker, int count = 1, TimeSpan? limit = null)
    {
        await Eventually.TrueAsync(() => To(path, marker).Count >= count, limit, $"{count} deliveries of {marker} to {path}");
        return To(path, marker);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync(TimeSpan.FromSeconds(1));
        await App.DisposeAsync();
    }
}

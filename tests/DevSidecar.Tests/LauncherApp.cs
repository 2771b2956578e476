using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>
/// An app run by the launcher from a test's dapr.yaml (<c>dotnet DevSidecar.Tests.dll launcher-app</c>):
/// listens on APP_PORT, subscribes to "kept" on crisis-pubsub, appends "&lt;id&gt; &lt;MODE&gt;" to
/// RECORD_FILE for every delivery and answers 500 while MODE is "fail" (the entry stays unacknowledged).
/// </summary>
public static class LauncherApp
{
    public const string Topic = "kept";

    public static async Task RunAsync()
    {
        var port = int.Parse(Environment.GetEnvironmentVariable("APP_PORT")!, System.Globalization.CultureInfo.InvariantCulture);
        var record = Environment.GetEnvironmentVariable("RECORD_FILE")!;
        var mode = Environment.GetEnvironmentVariable("MODE") ?? "ok";
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        var gate = new SemaphoreSlim(1);
        app.UseCloudEvents();
        app.MapSubscribeHandler();
        app.MapPost("events/kept", async (Payload payload, CancellationToken ct) =>
        {
            await gate.WaitAsync(ct);
            try
            {
                await File.AppendAllTextAsync(record, $"{payload.Id} {mode}\n", ct);
            }
            finally
            {
                gate.Release();
            }

            return mode == "fail" ? Results.StatusCode(500) : Results.Ok();
        }).WithTopic(PubSubFixture.PubSub, Topic);
        await app.RunAsync();
    }
}

using Dapr.AspNetCore;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>
/// A subscriber app run as its own process (so a test can kill -9 it): topic "durable" on
/// crisis-pubsub; every handled payload id is appended and flushed to a file before answering 200.
/// <see cref="RunBulkAsync"/> is the same app with a bulk subscription (SDK <c>WithBulkSubscribe</c>).
/// </summary>
public static class DurableSubscriber
{
    public const string Topic = "durable";

    public static async Task RunAsync(int port, string recordFile)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        var gate = new SemaphoreSlim(1);
        app.UseCloudEvents();
        app.MapSubscribeHandler();
        app.MapPost("events/durable", async (Payload payload, CancellationToken ct) =>
        {
            // Slow enough that a kill lands mid-stream, with deliveries in flight.
            await Task.Delay(20, ct);
            await gate.WaitAsync(ct);
            try
            {
                await using var file = new FileStream(recordFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
                await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes(payload.Id + "\n"), ct);
                await file.FlushAsync(ct);
                file.Flush(flushToDisk: true);
            }
            finally
            {
                gate.Release();
            }

            return Results.Ok();
        }).WithTopic(PubSubFixture.PubSub, Topic);
        await app.RunAsync();
    }

    /// <summary>
    /// Bulk variant: batches of up to 20 entries; each entry is recorded (flushed) before the batch is
    /// answered SUCCESS, one batch at a time. With <paramref name="holdAfter"/>, once this process has
    /// recorded that many entries it stops in the middle of a batch (part recorded, nothing answered)
    /// and waits to be killed: the kill then lands mid-batch every time, not by luck of timing.
    /// </summary>
    public static async Task RunBulkAsync(int port, string recordFile, int? holdAfter = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        var gate = new SemaphoreSlim(1);
        var recorded = 0; // entries this process recorded (under the gate)
        app.UseCloudEvents();
        app.MapSubscribeHandler();
        app.MapPost("events/durable", async (BulkSubscribeMessage<BulkMessageModel<Payload>> message, CancellationToken ct) =>
        {
            var statuses = new List<BulkSubscribeAppResponseEntry>();
            await gate.WaitAsync(ct);
            try
            {
                foreach (var entry in message.Entries)
                {
                    if (recorded >= holdAfter && statuses.Count > 0)
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }

                    await Task.Delay(20, ct);
                    await using var file = new FileStream(recordFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
                    await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes(entry.Event.Data.Id + "\n"), ct);
                    await file.FlushAsync(ct);
                    file.Flush(flushToDisk: true);
                    statuses.Add(new BulkSubscribeAppResponseEntry(entry.EntryId, BulkSubscribeAppResponseStatus.SUCCESS));
                    recorded++;
                }
            }
            finally
            {
                gate.Release();
            }

            return Results.Json(new BulkSubscribeAppResponse(statuses));
        })
        .WithTopic(PubSubFixture.PubSub, Topic)
        .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = Topic, MaxMessagesCount = 20, MaxAwaitDurationMs = 100 });
        await app.RunAsync();
    }
}

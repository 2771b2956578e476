using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Notifications.Domain;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.Notifications.Bench;

/// <summary>The two processes the orchestrator measures.</summary>
internal static class Modes
{
    /// <summary>The real notifications service (same code as production), with the SMS channel's
    /// provider replaced by a sink that accepts and counts, exposed at <c>/bench/handed</c>.</summary>
    public static async Task<int> ServeNotificationsAsync(string[] args)
    {
        var sink = new CountingSmsProvider();
        var app = NotificationsApp.Create(args, s => s.AddSingleton<IChannelProvider>(sink));
        app.MapGet("/bench/handed", () => sink.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)).AllowAnonymous();
        app.MapGet("/bench/trail-pending", async (Dcis.Crisis.Shared.Storage.SqliteDatabase database, CancellationToken ct) =>
        {
            await using var connection = await database.OpenAsync(ct);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM status_trail WHERE id > (SELECT published_up_to FROM trail_cursor WHERE id = 1)";
            return ((long)(await command.ExecuteScalarAsync(ct))!).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }).AllowAnonymous();
        app.MapGet("/bench/memory", () =>
        {
            var gc = GC.GetGCMemoryInfo();
            return FormattableString.Invariant(
                $"GC heap {gc.HeapSizeBytes / 1048576.0:N1} MB, committed {gc.TotalCommittedBytes / 1048576.0:N1} MB, fragmented {gc.FragmentedBytes / 1048576.0:N1} MB, gen0/1/2 collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, server GC {System.Runtime.GCSettings.IsServerGC}, after-burst memory releases {Dispatch.MemoryRelease.Releases}");
        }).AllowAnonymous();
        await app.RunAsync();
        return 0;
    }

    /// <summary>The baseline: a bare ASP.NET Core gRPC app as <c>dotnet new grpc</c> makes it
    /// (<see cref="WebApplication.CreateBuilder(string[])"/>, AddGrpc, one gRPC service: health) on h2c;
    /// <paramref name="slim"/> uses <see cref="WebApplication.CreateSlimBuilder(string[])"/> instead (printed for reference).</summary>
    public static async Task<int> ServeBareAsync(string[] args, bool slim)
    {
        var builder = slim ? WebApplication.CreateSlimBuilder(args) : WebApplication.CreateBuilder(args);
        var port = builder.Configuration.GetValue("GRPC_PORT", 5999);
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddGrpcHealthChecks();
        var app = builder.Build();
        app.MapGrpcHealthChecksService();
        await app.RunAsync();
        return 0;
    }

    private sealed class CountingSmsProvider : IChannelProvider
    {
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public Channel Channel => Channel.Sms;

        public Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return Task.FromResult(SendResult.Ok);
        }
    }
}

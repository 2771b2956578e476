using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Shared.Storage;
using Dcis.Crisis.ThreatLevels.Domain;
using Dcis.Crisis.ThreatLevels.Grpc;
using Dcis.Crisis.ThreatLevels.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Dcis.Crisis.ThreatLevels;

/// <summary>Every dependency of threat-levels, in one place.</summary>
public static class ThreatLevelsRegistration
{
    /// <summary>Who may list proposals: analysts, viewers, and attachés (their countries only).</summary>
    public const string ProposalsPolicy = "threat-levels-proposals";

    /// <summary>Registers storage, the outbox, the snapshot store, the live stream and policies.</summary>
    public static void AddThreatLevels(this WebApplicationBuilder builder, CrisisServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var services = builder.Services;
        var settings = ThreatLevelsOptions.From(builder.Configuration);
        services.AddSingleton(settings);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(new SqliteDatabase(options.DataFile("threat-levels.db")));
        services.AddSingleton(_ => CountryCatalog.Load());
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<Outbox>();
        services.AddHostedService<OutboxRelay>();
        services.AddSingleton<ChangeBroadcaster>();
        services.AddSingleton(new StreamQuota(settings.MaxStreamsPerCaller));
        services.AddSingleton<ThreatLevelStore>();
        services.AddSingleton<ChangeStreamer>();
        services.AddHostedService<StoreStartup>();
        services.AddAuthorizationBuilder()
            .AddPolicy(ProposalsPolicy, p => p.RequireRole(Roles.Analyst, Roles.Attache, Roles.CrisisCellViewer));
    }

    /// <summary>Loads the snapshot before the first request needs it.</summary>
    private sealed class StoreStartup(ThreatLevelStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync();

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

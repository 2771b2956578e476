using Dcis.Crisis.Consular.Domain;
using Dcis.Crisis.Consular.Events;
using Dcis.Crisis.Consular.Jobs;
using Dcis.Crisis.Consular.Storage;
using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Shared.Storage;

namespace Dcis.Crisis.Consular;

/// <summary>Every dependency of the consular service, in one place.</summary>
internal static class ConsularRegistration
{
    /// <summary>Authorization policy: consular officers only.</summary>
    public const string OfficerPolicy = "consular-officer";

    /// <summary>Authorization policy: officers, analysts and crisis-cell viewers (counts, statuses, CAP).</summary>
    public const string ReadCountsPolicy = "consular-read-counts";

    /// <summary>Authorization policy: officers and registrants (personal data, object-level checks follow).</summary>
    public const string PeoplePolicy = "consular-people";

    public static void AddConsular(this WebApplicationBuilder builder, CrisisServiceOptions options)
    {
        var services = builder.Services;
        var settings = ConsularSettings.From(builder.Configuration);
        services.AddSingleton(settings);
        services.AddSingleton(new SqliteDatabase(options.DataFile($"{ConsularApp.AppId}.db")));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ConsularDatabase>();
        services.AddSingleton<PostDirectory>();
        services.AddSingleton<RegistryStore>();
        services.AddSingleton<PresenceQuery>();
        services.AddSingleton<AlertStore>();
        services.AddSingleton<WellbeingStore>();
        services.AddSingleton<ConsularJobs>();
        services.AddHostedService<ConsularDatabaseStartup>();
        services.AddHostedService<ConsularJobRunner>();

        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<Outbox>();

        // A NotificationRequested of 1,000 recipients is ~200 KB of JSON: 10 per bulk publish keeps
        // each call well under daprd's default 4 MB request limit.
        services.AddSingleton(new OutboxRelayOptions { BatchSize = 10 });
        services.AddHostedService<OutboxRelay>();

        services.AddSingleton<ThreatLevelChangedConsumer>();
        services.AddSingleton<CrisisDeclaredConsumer>();
        services.AddSingleton<CrisisClosedConsumer>();
        services.AddSingleton<NotificationStatusChangedConsumer>();

        services.AddAuthorizationBuilder()
            .AddPolicy(OfficerPolicy, p => p.RequireRole(Roles.ConsularOfficer))
            .AddPolicy(ReadCountsPolicy, p => p.RequireRole(Roles.ConsularOfficer, Roles.Analyst, Roles.CrisisCellViewer))
            .AddPolicy(PeoplePolicy, p => p.RequireRole(Roles.ConsularOfficer, Roles.Registrant));
    }
}

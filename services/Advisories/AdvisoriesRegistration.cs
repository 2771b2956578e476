using Dcis.Crisis.Advisories.Briefing;
using Dcis.Crisis.Advisories.Delivery;
using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.Events;
using Dcis.Crisis.Advisories.Grpc;
using Dcis.Crisis.Advisories.Storage;
using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Shared.Storage;
using Dcis.Crisis.ThreatLevels.V1;

namespace Dcis.Crisis.Advisories;

/// <summary>The one place for the advisories service's dependency injection.</summary>
internal static class AdvisoriesRegistration
{
    public static void AddAdvisories(this WebApplicationBuilder builder, CrisisServiceOptions service)
    {
        var options = AdvisoriesOptions.From(builder.Configuration);
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new SqliteDatabase(service.DataFile("advisories.db")));

        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<Outbox>();
        // Advisories' events (advisory-issued for the dashboard, notification-requested for e-mail)
        // go out after the advisory is already on the company's stream: a few milliseconds of linger
        // lets a burst of changes go out as one bulk publish per topic, off the CPU the next change needs.
        // Under continuous changes they wait at most 200 ms (not perceptible on the dashboard or in an
        // e-mail): fewer, larger publishes, each of which competes with a change on its way to the streams.
        // AdvisoriesBench, 2 interleaved rounds, 200 vs 20 ms: CPU per change 2.76/2.54 vs 2.98/2.88 ms.
        services.AddSingleton(new OutboxRelayOptions { Linger = TimeSpan.FromMilliseconds(2), MaxLinger = TimeSpan.FromMilliseconds(200) });
        services.AddHostedService<OutboxRelay>();

        services.AddSingleton(new MeasuresCatalogue(builder.Configuration));
        services.AddSingleton<CompanyStore>();
        services.AddSingleton<AdvisoryStore>();
        services.AddSingleton<WalCheckpointer>();
        services.AddHostedService(sp => sp.GetRequiredService<WalCheckpointer>());
        services.AddSingleton<IssuerConnection>();
        services.AddSingleton<AdvisoryIssuer>();
        services.AddSingleton<AdvisoryBroadcaster>();

        services.AddSingleton<WebhookSignal>();
        services.AddHttpClient(WebhookDispatcher.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddSingleton<AdvisoryChaser>();
        services.AddHostedService(sp => sp.GetRequiredService<AdvisoryChaser>());

        services.AddSingleton<BriefingCache>();
        services.AddSingleton<BriefingService>();
        if (!string.IsNullOrWhiteSpace(options.ThreatLevelsAddress))
        {
            services.AddGrpcClient<ThreatLevelsService.ThreatLevelsServiceClient>(o => o.Address = new Uri(options.ThreatLevelsAddress));
        }

        services.AddSingleton<ThreatLevelChangedConsumer>();
        services.AddSingleton<CrisisDeclaredConsumer>();
        services.AddSingleton<CrisisClosedConsumer>();
        services.AddSingleton<ConsularAlertIssuedConsumer>();
        services.AddSingleton<NotificationStatusChangedConsumer>();

        services.AddAuthorizationBuilder()
            .AddPolicy(AdvisoriesGrpcService.RegisterPolicy, p => p.RequireRole(Roles.Analyst, Roles.CompanySecurity));
    }
}

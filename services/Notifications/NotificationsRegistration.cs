using Dapr.Client;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Notifications.Channels;
using Dcis.Crisis.Notifications.Dispatch;
using Dcis.Crisis.Notifications.Domain;
using Dcis.Crisis.Notifications.Events;
using Dcis.Crisis.Notifications.Grpc;
using Dcis.Crisis.Notifications.Storage;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Shared.Storage;

namespace Dcis.Crisis.Notifications;

/// <summary>Every dependency of the notifications service.</summary>
internal static class NotificationsRegistration
{
    public static void AddNotifications(this WebApplicationBuilder builder, CrisisServiceOptions service)
    {
        var options = builder.Configuration.GetSection(NotificationsOptions.Section).Get<NotificationsOptions>() ?? new NotificationsOptions();
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new SqliteDatabase(service.DataFile("notifications.db")));
        services.AddSingleton<DeliveryStore>();

        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<Outbox>();
        services.AddSingleton<DispatchSignal>();
        services.AddSingleton<InboxNotifier>();
        services.AddSingleton<NotificationsMetrics>();

        services.AddHttpClient(SmsGatewayProvider.HttpClientName);
        services.AddSingleton<IChannelProvider, SmtpEmailProvider>();
        services.AddSingleton<IChannelProvider, SmsGatewayProvider>();
        services.AddSingleton<IChannelProvider, AppInboxProvider>();
        services.AddSingleton<IChannelProvider, UnconfiguredWebhookProvider>();

        services.AddSingleton<NotificationRequestedConsumer>();
        services.AddSingleton<IEventDataParser<NotificationRequested>, NotificationRequestedJsonParser>();

        // Order matters: the schema exists and crashed sends are re-queued before anything runs.
        services.AddHostedService<StoreInitializer>();
        services.AddSingleton<Dispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<Dispatcher>());
        services.AddSingleton<Housekeeping>();
        services.AddHostedService(sp => sp.GetRequiredService<Housekeeping>());
        // The relay's publisher checks the sidecar before retrying a batch (see SidecarProbingPublisher); it replaces the
        // shared registration of DaprEventPublisher (the last registration wins).
        services.AddSingleton<IEventPublisher>(sp => new SidecarProbingPublisher(
            ActivatorUtilities.CreateInstance<DaprEventPublisher>(sp), sp.GetRequiredService<DaprClient>()));
        services.AddSingleton<OutboxRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay>());

        services.AddAuthorizationBuilder()
            .AddPolicy(NotificationsGrpcService.StatusPolicy, p => p.RequireRole(Roles.ConsularOfficer, Roles.Analyst, Roles.CrisisCellViewer));
    }
}

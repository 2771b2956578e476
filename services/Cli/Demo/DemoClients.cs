using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Notifications.V1;
using Dcis.Crisis.ThreatLevels.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Dcis.Crisis.Cli.Demo;

/// <summary>One channel per service; calls carry the token given per call (the demo plays many people).</summary>
internal sealed class DemoClients(string threatLevels, string consular, string advisories, string notifications) : IDisposable
{
    private readonly GrpcChannel _threatLevels = GrpcChannel.ForAddress(threatLevels);
    private readonly GrpcChannel _consular = GrpcChannel.ForAddress(consular);
    private readonly GrpcChannel _advisories = GrpcChannel.ForAddress(advisories);
    private readonly GrpcChannel _notifications = GrpcChannel.ForAddress(notifications);

    public ThreatLevelsService.ThreatLevelsServiceClient ThreatLevels => new(_threatLevels);

    public ConsularService.ConsularServiceClient Consular => new(_consular);

    public AdvisoriesService.AdvisoriesServiceClient Advisories => new(_advisories);

    public NotificationsService.NotificationsServiceClient Notifications => new(_notifications);

    public static CallOptions As(string token, CancellationToken cancellationToken = default) => As(token, null, cancellationToken);

    // No deadline unless asked: the demo reuses one caller's options for minutes.
    public static CallOptions As(string token, TimeSpan? timeout, CancellationToken cancellationToken) =>
        new(new Metadata { { "Authorization", $"Bearer {token}" } }, timeout is null ? null : DateTime.UtcNow + timeout.Value, cancellationToken);

    public void Dispose()
    {
        _threatLevels.Dispose();
        _consular.Dispose();
        _advisories.Dispose();
        _notifications.Dispose();
    }
}

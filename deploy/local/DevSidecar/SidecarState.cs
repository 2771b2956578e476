using Dcis.Crisis.DevSidecar.Protos;
using Dcis.Crisis.DevSidecar.PubSub;
using Dcis.Crisis.DevSidecar.Subscriptions;

namespace Dcis.Crisis.DevSidecar;

/// <summary>Readiness and the metadata the sidecar reports (GET /v1.0/metadata, gRPC GetMetadata).</summary>
public sealed class SidecarState(SidecarOptions options, Publisher publisher, SubscriptionManager subscriptions)
{
    /// <summary>The runtime version reported to SDKs that check capabilities.</summary>
    public const string RuntimeVersion = "1.16.0";

    private readonly Dictionary<string, string> _extended = new(StringComparer.Ordinal);

    /// <summary>Components are initialised: /v1.0/healthz/outbound answers 204.</summary>
    public bool OutboundReady { get; set; }

    /// <summary>The app channel is up and subscriptions run: /v1.0/healthz answers 204.</summary>
    public bool AppReady { get; set; }

    /// <summary>Signalled by the Shutdown API.</summary>
    public CancellationTokenSource ShutdownRequested { get; } = new();

    public void SetMetadata(string key, string value)
    {
        lock (_extended)
        {
            _extended[key] = value;
        }
    }

    public GetMetadataResponse Metadata()
    {
        var response = new GetMetadataResponse
        {
            Id = options.AppId,
            RuntimeVersion = RuntimeVersion,
            AppConnectionProperties = new AppConnectionProperties
            {
                Port = options.AppPort,
                Protocol = options.AppProtocol,
                ChannelAddress = options.AppChannelAddress,
                MaxConcurrency = Math.Max(options.AppMaxConcurrency, 0),
            },
            ActorRuntime = new ActorRuntime { RuntimeStatus = ActorRuntime.Types.ActorRuntimeStatus.Disabled },
        };
        lock (_extended)
        {
            response.ExtendedMetadata.Add(_extended);
        }

        response.ExtendedMetadata["daprRuntimeVersion"] = RuntimeVersion;
        response.ExtendedMetadata["devSidecar"] = "true";
        foreach (var pubsub in publisher.PubSubs.Values)
        {
            response.RegisteredComponents.Add(new RegisteredComponents { Name = pubsub.Spec.Name, Type = pubsub.Spec.Type, Version = pubsub.Spec.Version });
        }

        foreach (var s in subscriptions.Active)
        {
            var subscription = new PubsubSubscription
            {
                PubsubName = s.PubsubName,
                Topic = s.Topic,
                DeadLetterTopic = s.DeadLetterTopic ?? "",
                Type = s.Type == "DECLARATIVE" ? PubsubSubscriptionType.Declarative : PubsubSubscriptionType.Programmatic,
                Rules = new PubsubSubscriptionRules(),
            };
            foreach (var (key, value) in s.Metadata)
            {
                subscription.Metadata[key] = value;
            }

            subscription.Rules.Rules.AddRange(s.Rules.Select(r => new PubsubSubscriptionRule { Match = r.Match?.Text ?? "", Path = r.Path }));
            response.Subscriptions.Add(subscription);
        }

        return response;
    }
}

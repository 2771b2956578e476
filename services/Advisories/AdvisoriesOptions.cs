using Dcis.Crisis.Shared.Hosting;

namespace Dcis.Crisis.Advisories;

/// <summary>Tuning of the advisories service, from the <c>Advisories</c> configuration section.</summary>
public sealed record AdvisoriesOptions
{
    /// <summary>Interval between heartbeats on an idle WatchAdvisories stream.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Most open WatchAdvisories streams per company.</summary>
    public int MaxStreamsPerCompany { get; init; } = 20;

    /// <summary>Delay after which an unacknowledged level-3+ advisory is chased, and between reminders.</summary>
    public TimeSpan ChaseDelay { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Most reminders per advisory.</summary>
    public int MaxChases { get; init; } = 3;

    /// <summary>How often the chaser looks for due advisories (background mode).</summary>
    public TimeSpan ChaseCheckInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Whether the chaser runs in the background (tests turn it off and call RunDueAsync).</summary>
    public bool ChaseInBackground { get; init; } = true;

    /// <summary>First webhook retry delay; doubles per attempt.</summary>
    public TimeSpan WebhookBaseDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest webhook retry delay.</summary>
    public TimeSpan WebhookMaxDelay { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Consecutive failures after which an endpoint is disabled.</summary>
    public int WebhookMaxConsecutiveFailures { get; init; } = 8;

    /// <summary>Timeout of one webhook POST.</summary>
    public TimeSpan WebhookTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether webhooks are dispatched in the background (tests may turn it off and call RunDueAsync).</summary>
    public bool WebhooksInBackground { get; init; } = true;

    /// <summary>
    /// Most companies written per transaction when one event concerns many: each batch commits and is
    /// pushed to open streams before the next is written.
    /// </summary>
    public int IssueBatchSize { get; init; } = 500;

    /// <summary>gRPC address of threat-levels, for briefings (<see cref="ServiceAddresses.ThreatLevels"/>).</summary>
    public string? ThreatLevelsAddress { get; init; }

    /// <summary>Reads the options from configuration.</summary>
    public static AdvisoriesOptions From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var defaults = new AdvisoriesOptions();
        var s = configuration.GetSection("Advisories");
        return new AdvisoriesOptions
        {
            HeartbeatInterval = s.GetValue("HeartbeatInterval", defaults.HeartbeatInterval),
            MaxStreamsPerCompany = s.GetValue("MaxStreamsPerCompany", defaults.MaxStreamsPerCompany),
            ChaseDelay = s.GetValue("ChaseDelay", defaults.ChaseDelay),
            MaxChases = s.GetValue("MaxChases", defaults.MaxChases),
            ChaseCheckInterval = s.GetValue("ChaseCheckInterval", defaults.ChaseCheckInterval),
            ChaseInBackground = s.GetValue("ChaseInBackground", defaults.ChaseInBackground),
            WebhookBaseDelay = s.GetValue("WebhookBaseDelay", defaults.WebhookBaseDelay),
            WebhookMaxDelay = s.GetValue("WebhookMaxDelay", defaults.WebhookMaxDelay),
            WebhookMaxConsecutiveFailures = s.GetValue("WebhookMaxConsecutiveFailures", defaults.WebhookMaxConsecutiveFailures),
            WebhookTimeout = s.GetValue("WebhookTimeout", defaults.WebhookTimeout),
            WebhooksInBackground = s.GetValue("WebhooksInBackground", defaults.WebhooksInBackground),
            IssueBatchSize = Math.Max(1, s.GetValue("IssueBatchSize", defaults.IssueBatchSize)),
            ThreatLevelsAddress = ServiceAddresses.ThreatLevels(configuration),
        };
    }
}

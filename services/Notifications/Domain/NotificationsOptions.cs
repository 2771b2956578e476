using Dcis.Crisis.Common.V1;

namespace Dcis.Crisis.Notifications.Domain;

/// <summary>Tuning of delivery, bound from the <c>Notifications</c> configuration section.</summary>
public sealed class NotificationsOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Notifications";

    /// <summary>Whether the dispatcher loop runs (tests that step it by hand turn it off).</summary>
    public bool DispatcherEnabled { get; set; } = true;

    /// <summary>Most deliveries claimed per channel in one dispatcher pass.</summary>
    public int ClaimBatchSize { get; set; } = 500;

    /// <summary>Provider calls in flight per channel.</summary>
    public int Concurrency { get; set; } = 32;

    /// <summary>Messages per second per channel (token bucket refill); a gateway's contractual limit.</summary>
    public double EmailRatePerSecond { get; set; } = 200;

    /// <summary>SMS messages per second.</summary>
    public double SmsRatePerSecond { get; set; } = 100;

    /// <summary>App inbox messages per second.</summary>
    public double AppInboxRatePerSecond { get; set; } = 100_000;

    /// <summary>Webhook calls per second.</summary>
    public double WebhookRatePerSecond { get; set; } = 50;

    /// <summary>Bucket size as seconds of rate (a burst allowance); at least one message.</summary>
    public double BurstSeconds { get; set; } = 1;

    /// <summary>Tries on one address before falling back to the next.</summary>
    public int MaxAttemptsPerAddress { get; set; } = 3;

    /// <summary>First retry delay; doubles on each further try.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A provider call taking longer than this counts as a transient failure.</summary>
    public TimeSpan ProviderTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Contact details are wiped this long after a delivery's final status.</summary>
    public TimeSpan ContactRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Status changes are published at least this often (batched).</summary>
    public TimeSpan StatusFlushInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Most status updates in one NotificationStatusChanged event. 200 updates are ~35,000 characters
    /// of JSON: each event's string stays off the large object heap (only a full gen-2 collection frees that).</summary>
    public int StatusUpdatesPerEvent { get; set; } = 200;

    /// <summary>SMTP server host (locally the mail sink).</summary>
    public string SmtpHost { get; set; } = "127.0.0.1";

    /// <summary>SMTP server port.</summary>
    public int SmtpPort { get; set; } = 2525;

    /// <summary>Sender address.</summary>
    public string SmtpFrom { get; set; } = "alertes@diplomatie.example";

    /// <summary>SMS gateway endpoint (locally the SMS sink's <c>/api/sms</c>).</summary>
    public Uri SmsGatewayUrl { get; set; } = new("http://127.0.0.1:5410/api/sms");

    /// <summary>The secret the SMS gateway signs its delivery receipts with (Standard Webhooks <c>whsec_&lt;base64&gt;</c>);
    /// none: receipts are not taken, and an SMS stays "sent".</summary>
    public string? SmsReceiptSecret { get; set; }

    /// <summary>The secret the e-mail provider signs its delivery and bounce reports with (Standard Webhooks
    /// <c>whsec_&lt;base64&gt;</c>); none: they are not taken, and an e-mail stays "sent".</summary>
    public string? EmailReceiptSecret { get; set; }

    /// <summary>Messages per second configured for a channel.</summary>
    public double RateFor(Channel channel) => channel switch
    {
        Channel.Email => EmailRatePerSecond,
        Channel.Sms => SmsRatePerSecond,
        Channel.AppInbox => AppInboxRatePerSecond,
        Channel.Webhook => WebhookRatePerSecond,
        _ => 0,
    };
}

namespace Dcis.Crisis.Consular.Domain;

/// <summary>Tunable rules of the consular service (configuration section <c>Consular</c>).</summary>
internal sealed record ConsularSettings
{
    /// <summary>Days after a traveller's last leg ends before their data are deleted.</summary>
    public int TravellerRetentionDays { get; init; } = 30;

    /// <summary>Lifetime of an automatic alert (level change, crisis) from its effective time.</summary>
    public TimeSpan AutomaticAlertLifetime { get; init; } = TimeSpan.FromHours(72);

    /// <summary>Default delay before a wellbeing reminder.</summary>
    public TimeSpan DefaultRemindAfter { get; init; } = TimeSpan.FromHours(2);

    /// <summary>Default delay before an unanswered person is listed for follow-up.</summary>
    public TimeSpan DefaultFollowUpAfter { get; init; } = TimeSpan.FromHours(6);

    /// <summary>How often the background job looks for due work; zero disables it (tests drive it by hand).</summary>
    public TimeSpan JobInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Recipients per NotificationRequested event.</summary>
    public int RecipientsPerBatch { get; init; } = 1000;

    public static ConsularSettings From(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var d = new ConsularSettings();
        return d with
        {
            TravellerRetentionDays = Int(configuration["Consular:TravellerRetentionDays"]) ?? d.TravellerRetentionDays,
            JobInterval = Int(configuration["Consular:JobIntervalSeconds"]) is { } s ? TimeSpan.FromSeconds(s) : d.JobInterval,
        };
    }

    private static int? Int(string? value) =>
        int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var i) ? i : null;
}

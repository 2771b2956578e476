using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.Consular.Tests;

internal static class TestAlerts
{
    public static IssueAlertRequest Request(string country, TimeProvider clock, TimeSpan? lifetime = null) => new()
    {
        Area = new Area { CountryCode = country },
        Headline = new LocalizedText { Fr = "Manifestations", En = "Demonstrations" },
        Body = new LocalizedText { Fr = "Évitez le centre-ville.", En = "Avoid the city centre." },
        ExpiresAt = Timestamp.FromDateTimeOffset(clock.GetUtcNow() + (lifetime ?? TimeSpan.FromHours(12))),
        Priority = Priority.High,
    };
}

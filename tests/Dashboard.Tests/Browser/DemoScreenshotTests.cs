using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Playwright;

namespace Dcis.Crisis.Dashboard.Tests.Browser;

/// <summary>The demo scenario of the README (Sahel crisis), rendered and saved as artifacts/screenshots/dashboard-demo.png.</summary>
[Collection(BrowserGroup.Name)]
public sealed class DemoScreenshotTests(DashboardFixture fixture)
{
    [Fact]
    public async Task Demo_Scenario_Shows_Levels_Zone_Crisis_Alert_Progress_And_Country_Panel()
    {
        var at = fixture.CallbackAddress;
        foreach (var (country, level) in new[] { ("FR", 1), ("DE", 1), ("ES", 1), ("US", 1), ("CN", 2), ("IN", 2), ("BR", 2), ("MX", 2), ("DZ", 2),
            ("NG", 3), ("BF", 4), ("NE", 4), ("LY", 4), ("SD", 4), ("UA", 4), ("CO", 2), ("TR", 2), ("EG", 2), ("MR", 3), ("TD", 3) })
        {
            await CloudEvents.DeliverOkAsync(at, Topics.ThreatLevelChanged, Events.Level(country, (ThreatLevel)level));
        }

        var mali = Events.Level("ML", ThreatLevel.AvoidNonEssential, reason: "Dégradation au centre du pays");
        mali.Categories.Add(new CategoryRating { Category = ThreatCategory.ArmedConflict, Severity = Severity.Severe });
        mali.Categories.Add(new CategoryRating { Category = ThreatCategory.CrimeAndKidnapping, Severity = Severity.High });
        await CloudEvents.DeliverOkAsync(at, Topics.ThreatLevelChanged, mali);
        var zone = Events.Level("ML", ThreatLevel.DoNotTravel, reason: "Nord : groupes armés");
        zone.AssessmentId = "ML/zone/nord";
        zone.CountryLevel = ThreatLevel.AvoidNonEssential;
        zone.Area = new Area { CountryCode = "ML", ZoneName = "Nord (Kidal, Tombouctou, Gao)", Polygon = new Polygon() };
        zone.Area.Polygon.Vertices.AddRange(new[] { (15.0, -5.5), (20.5, -5.5), (20.5, 1.2), (15.0, 1.2) }
            .Select(v => new LatLng { Latitude = v.Item1, Longitude = v.Item2 }));
        await CloudEvents.DeliverOkAsync(at, Topics.ThreatLevelChanged, zone);
        await CloudEvents.DeliverOkAsync(at, Topics.CrisisDeclared, Events.Crisis("crisis-bamako", "ML", 12.65, -8.0));

        var alert = Events.Alert("alert-demo", "ML", targeted: 1200);
        alert.IssuedAt = Timestamp.FromDateTime(DateTime.UtcNow.AddSeconds(-8));
        await CloudEvents.DeliverOkAsync(at, Topics.ConsularAlertIssued, alert);
        var recipients = Enumerable.Range(0, 1000).Select(i => "reg-demo-" + i).ToArray();
        await CloudEvents.DeliverOkAsync(at, Topics.NotificationStatusChanged, Events.Statuses("alert-demo", DeliveryStatus.Sent, recipients));
        await CloudEvents.DeliverOkAsync(at, Topics.NotificationStatusChanged, Events.Statuses("alert-demo", DeliveryStatus.Delivered, recipients[..780]));
        await CloudEvents.DeliverOkAsync(at, Topics.NotificationStatusChanged, Events.Statuses("alert-demo", DeliveryStatus.Failed, recipients[950..]));
        foreach (var i in Enumerable.Range(1, 6))
        {
            var advisory = Events.Advisory("adv-demo-" + i, "wave-demo", "ML", i % 3, 2 * i);
            advisory.IssuedAt = Timestamp.FromDateTime(DateTime.UtcNow.AddMinutes(-3));
            await CloudEvents.DeliverOkAsync(at, Topics.AdvisoryIssued, advisory);
        }

        await CloudEvents.DeliverOkAsync(at, Topics.AdvisoryAcknowledged, new AdvisoryAcknowledged { EventId = Guid.NewGuid().ToString(), AdvisoryId = "adv-demo-2", WaveId = "wave-demo" });
        await CloudEvents.DeliverOkAsync(at, Topics.WellbeingUpdated, Events.Wellbeing("chk-bamako", "post-bamako", "ML", 1, 1180, 912, 14, "case-4KX9"));

        var page = await fixture.OpenAsync();
        await page.SelectOptionAsync("#country-pick", "ML");
        await page.WaitForSelectorAsync("#panel-body li:has-text('Conflit armé')");
        await Assertions.Expect(page.Locator("[data-zone='ML/zone/nord']")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("[data-alert='consular:alert-demo'] [role=progressbar]")).ToHaveAttributeAsync("aria-valuenow", "65");
        await DashboardFixture.ScreenshotAsync(page, "dashboard-demo");
        await page.Context.CloseAsync();
    }
}

using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Events;
using Microsoft.Playwright;

namespace Dcis.Crisis.Dashboard.Tests.Browser;

[Collection(BrowserGroup.Name)]
public sealed class LiveViewTests(DashboardFixture fixture)
{
    [Fact]
    public async Task Alert_Progress_Bar_Advances_As_Deliveries_Arrive()
    {
        var alert = "alert-progress-" + Guid.NewGuid().ToString("N")[..8];
        var page = await fixture.OpenAsync();
        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.ConsularAlertIssued, Events.Alert(alert, "ML", targeted: 4));
        var bar = page.Locator($"[data-alert='consular:{alert}'] [role=progressbar]");
        await Assertions.Expect(bar).ToHaveAttributeAsync("aria-valuenow", "0");

        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.NotificationStatusChanged,
            Events.Statuses(alert, DeliveryStatus.Delivered, "reg-1", "reg-2"));
        await Assertions.Expect(bar).ToHaveAttributeAsync("aria-valuenow", "50");

        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.NotificationStatusChanged,
            Events.Statuses(alert, DeliveryStatus.Failed, "reg-3"));
        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.NotificationStatusChanged,
            Events.Statuses(alert, DeliveryStatus.Delivered, "reg-3", "reg-4"));
        await Assertions.Expect(bar).ToHaveAttributeAsync("aria-valuenow", "100");
        await Assertions.Expect(page.Locator($"[data-alert='consular:{alert}'] [data-figure=failed] b")).ToHaveTextAsync("0");
        await DashboardFixture.ScreenshotAsync(page, "alerts-in-flight");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Wellbeing_Counts_Per_Post_Update_Live()
    {
        var check = "chk-" + Guid.NewGuid().ToString("N")[..6];
        var page = await fixture.OpenAsync(language: "en");
        await page.ClickAsync("#tab-wellbeing");
        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.WellbeingUpdated, Events.Wellbeing(check, "post-bamako", "ML", 1, 120, 10, 0));
        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.WellbeingUpdated, Events.Wellbeing(check, "post-niamey", "NE", 1, 40, 5, 1, "case-7Q2X"));
        var row = page.Locator($"[data-check={check}] tr[data-post=post-bamako] td").Nth(1);
        await Assertions.Expect(row).ToHaveTextAsync("10");

        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.WellbeingUpdated, Events.Wellbeing(check, "post-bamako", "ML", 2, 120, 85, 3));
        await Assertions.Expect(row).ToHaveTextAsync("85");
        await Assertions.Expect(page.Locator("#view-wellbeing")).ToContainTextAsync("case-7Q2X");
        await DashboardFixture.ScreenshotAsync(page, "wellbeing");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Dead_Letters_Appear_In_Operations_And_Personal_Data_Ones_Are_Not_Replayable()
    {
        var page = await fixture.OpenAsync(language: "en");
        await page.ClickAsync("#tab-operations");
        var requested = new Dcis.Crisis.Events.V1.NotificationRequested
        {
            EventId = Guid.NewGuid().ToString(), Source = "consular", SourceAlertId = "alert-dead", AlertVersion = 1,
            Recipients = { new Dcis.Crisis.Events.V1.Recipient { RecipientId = "reg-9", Addresses = { new Dcis.Crisis.Events.V1.ChannelAddress { Channel = Channel.Sms, Address = "+33612345678" } } } },
        };
        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.DeadLetter(Topics.NotificationRequested), requested,
            route: Topics.DeadLetter(Topics.NotificationRequested));
        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.DeadLetter(Topics.ThreatLevelChanged), Events.Level("SO", ThreatLevel.DoNotTravel),
            route: Topics.DeadLetter(Topics.ThreatLevelChanged));

        var view = page.Locator("#view-operations");
        await Assertions.Expect(view.Locator("tr", new LocatorLocatorOptions { HasText = "notification-requested" })).ToContainTextAsync("not replayable");
        await Assertions.Expect(view.Locator("tr", new LocatorLocatorOptions { HasText = "threat-level-changed" }).Locator("[data-action=replay]")).ToHaveCountAsync(1);
        await Assertions.Expect(view).ToContainTextAsync("healthy");
        await DashboardFixture.ScreenshotAsync(page, "operations");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Language_Toggle_Switches_The_Interface_To_English_And_Back()
    {
        var page = await fixture.OpenAsync();
        await Assertions.Expect(page.Locator("#tab-alerts")).ToHaveTextAsync("Alertes en cours");
        await page.ClickAsync("#lang");
        await Assertions.Expect(page.Locator("#tab-alerts")).ToHaveTextAsync("Alerts in flight");
        Assert.Equal("en", await page.GetAttributeAsync("html", "lang"));
        await page.ClickAsync("#lang");
        await Assertions.Expect(page.Locator("#tab-alerts")).ToHaveTextAsync("Alertes en cours");
        await page.Context.CloseAsync();
    }
}

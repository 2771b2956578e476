using System.Text.Json;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Events;
using Microsoft.Playwright;

namespace Dcis.Crisis.Dashboard.Tests.Browser;

[Collection(BrowserGroup.Name)]
public sealed class MapTests(DashboardFixture fixture)
{
    private static readonly Dictionary<int, string> Colours = new()
    {
        [0] = "#c9ced6", [1] = "#3a9d23", [2] = "#f5d000", [3] = "#f08a00", [4] = "#d62718",
    };

    [Fact]
    public async Task Map_Renders_Every_Country_In_Its_Level_Colour()
    {
        var levels = new Dictionary<string, ThreatLevel>
        {
            ["FR"] = ThreatLevel.Normal, ["BR"] = ThreatLevel.Increased, ["NE"] = ThreatLevel.AvoidNonEssential, ["ML"] = ThreatLevel.DoNotTravel,
        };
        foreach (var (country, level) in levels)
        {
            await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.ThreatLevelChanged, Events.Level(country, level));
        }

        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.CrisisDeclared, Events.Crisis("crisis-map-1", "ML", 12.65, -8.0));
        var page = await fixture.OpenAsync();

        var shapes = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "wwwroot", "map", "countries.json")))
            .RootElement.GetProperty("countries").GetArrayLength();
        Assert.Equal(shapes, await page.Locator("#countries path.country").CountAsync());
        Assert.True(shapes > 170, "the Natural Earth 110m set has ~176 countries");
        foreach (var (country, level) in levels)
        {
            Assert.Equal(Colours[(int)level], await page.GetAttributeAsync($"path.country[data-code={country}]", "fill"));
        }

        Assert.Equal(Colours[0], await page.GetAttributeAsync("path.country[data-code=CA]", "fill"));
        Assert.Equal(1, await page.Locator("[data-crisis=crisis-map-1]").CountAsync());
        await page.SelectOptionAsync("#country-pick", "ML");
        await page.WaitForSelectorAsync("#panel-title:has-text('Mali')");
        await DashboardFixture.ScreenshotAsync(page, "map-and-country-panel");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Level_Change_Event_Recolours_The_Open_Page_Without_Reload()
    {
        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.ThreatLevelChanged, Events.Level("TD", ThreatLevel.Increased));
        var page = await fixture.OpenAsync();
        await page.WaitForSelectorAsync($"path.country[data-code=TD][fill='{Colours[2]}']", new PageWaitForSelectorOptions { State = WaitForSelectorState.Attached });
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");

        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Topics.ThreatLevelChanged, Events.Level("TD", ThreatLevel.DoNotTravel));

        await page.WaitForSelectorAsync($"path.country[data-code=TD][fill='{Colours[4]}']", new PageWaitForSelectorOptions { State = WaitForSelectorState.Attached });
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page must not have reloaded");
        await page.Context.CloseAsync();
    }
}

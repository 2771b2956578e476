using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Dcis.Crisis.Shared.Security;
using Microsoft.Playwright;

namespace Dcis.Crisis.Dashboard.Tests.Browser;

[Collection(BrowserGroup.Name)]
public sealed class AccessTests(DashboardFixture fixture)
{
    [Fact]
    public async Task Analyst_Sees_Action_Forms()
    {
        var page = await fixture.OpenAsync(Roles.Analyst);
        await page.SelectOptionAsync("#country-pick", "FR");
        await Assertions.Expect(page.Locator("form[data-action=set-level]")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("form[data-action=declare-crisis]")).ToHaveCountAsync(1);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Viewer_Sees_No_Action_Buttons()
    {
        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Dcis.Crisis.Shared.Events.Topics.CrisisDeclared, Events.Crisis("crisis-viewer", "NE", 13.5, 2.1));
        await CloudEvents.DeliverOkAsync(fixture.CallbackAddress, Dcis.Crisis.Shared.Events.Topics.DeadLetter(Dcis.Crisis.Shared.Events.Topics.CrisisDeclared),
            Events.Crisis("crisis-dead", "NE", 13.5, 2.1), route: Dcis.Crisis.Shared.Events.Topics.DeadLetter(Dcis.Crisis.Shared.Events.Topics.CrisisDeclared));
        var page = await fixture.OpenAsync(Roles.CrisisCellViewer);
        await page.SelectOptionAsync("#country-pick", "NE");
        await Assertions.Expect(page.Locator("[data-crisis=crisis-viewer]").First).ToBeVisibleAsync();
        await page.ClickAsync("#tab-operations");
        await Assertions.Expect(page.Locator("#view-operations tr", new PageLocatorOptions { HasText = "crisis-declared" }).First).ToBeVisibleAsync();

        Assert.Equal(0, await page.Locator("[data-action]").CountAsync());
        Assert.Equal(0, await page.Locator("#panel form, #panel button, #view-operations button").CountAsync());
        await DashboardFixture.ScreenshotAsync(page, "viewer-read-only");
        await page.Context.CloseAsync();
    }

    [Theory]
    [InlineData("/api/actions/set-level", """{"countryCode":"FR","level":2,"reason":"x","expectedVersion":0}""")]
    [InlineData("/api/actions/declare-crisis", """{"countryCode":"FR","kind":2,"titleFr":"x","reason":"x"}""")]
    [InlineData("/api/actions/proposals/prop-1/approve", "{}")]
    [InlineData("/api/actions/proposals/prop-1/reject", """{"note":"no"}""")]
    [InlineData("/api/actions/crises/crisis-1/close", "{}")]
    [InlineData("/api/actions/dead-letters/1/replay", "{}")]
    public async Task Api_Refuses_Every_Action_To_A_Viewer(string path, string body)
    {
        using var response = await PostAsync(path, body, fixture.Token(Roles.CrisisCellViewer));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Api_Requires_A_Valid_Token_And_A_Crisis_Cell_Role()
    {
        using var http = new HttpClient { BaseAddress = fixture.WebAddress };
        using var anonymous = await http.GetAsync(new Uri("api/map", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        using var forged = new HttpRequestMessage(HttpMethod.Get, "api/map");
        forged.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Token(Roles.Analyst)[..^4] + "AAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(forged)).StatusCode);

        using var registrant = new HttpRequestMessage(HttpMethod.Get, "api/map");
        registrant.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Token(Roles.Registrant));
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(registrant)).StatusCode);

        using var viewer = new HttpRequestMessage(HttpMethod.Get, "api/map");
        viewer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Token(Roles.CrisisCellViewer));
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(viewer)).StatusCode);
    }

    [Fact]
    public async Task Sign_In_Refuses_A_Token_Of_Another_Role()
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(fixture.WebAddress.ToString());
        await page.FillAsync("#token", fixture.Token(Roles.CompanySecurity));
        await page.ClickAsync("#signin-form button[type=submit]");
        await Assertions.Expect(page.Locator("#signin-error")).Not.ToBeEmptyAsync();
        Assert.True(await page.Locator("#main").IsHiddenAsync());
        await context.CloseAsync();
    }

    [Fact]
    public async Task Accessibility_Scan_Finds_No_Serious_Or_Critical_Violations()
    {
        var page = await fixture.OpenAsync(Roles.Analyst);
        await page.SelectOptionAsync("#country-pick", "ML");
        await page.WaitForSelectorAsync("#panel-level");
        await page.AddScriptTagAsync(new PageAddScriptTagOptions { Path = Path.Combine(AppContext.BaseDirectory, "vendor", "axe.min.js") });
        var problems = new List<string>();
        foreach (var tab in new[] { "alerts", "wellbeing", "operations" })
        {
            await page.ClickAsync("#tab-" + tab);
            var json = await page.EvaluateAsync<JsonElement>("""
                async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))
                """);
            problems.AddRange(json.EnumerateArray().Select(v => tab + ": " + v.GetString()));
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Ui_Is_Keyboard_Operable_Tabs_Move_With_Arrow_Keys()
    {
        var page = await fixture.OpenAsync(Roles.CrisisCellViewer);
        await page.FocusAsync("#tab-alerts");
        await page.Keyboard.PressAsync("ArrowRight");
        await Assertions.Expect(page.Locator("#tab-wellbeing")).ToBeFocusedAsync();
        await Assertions.Expect(page.Locator("#view-wellbeing")).ToBeVisibleAsync();
        await page.FocusAsync("#country-pick");
        await page.Keyboard.PressAsync("ArrowDown");
        await Assertions.Expect(page.Locator("#panel-level")).ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }

    private async Task<HttpResponseMessage> PostAsync(string path, string body, string token)
    {
        using var http = new HttpClient { BaseAddress = fixture.WebAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, path.TrimStart('/'))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }
}

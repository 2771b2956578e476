using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.ThreatLevels.V1;
using Microsoft.Playwright;

namespace Dcis.Crisis.Dashboard.Tests.EndToEnd;

/// <summary>The dashboard in the real event path, driven through threat-levels' gRPC API and its own UI.</summary>
[Collection(BrowserGroup.Name)]
public sealed class ThroughSidecarTests(DashboardFixture browser, SystemFixture system) : IClassFixture<SystemFixture>
{
    private const string Orange = "#f08a00";
    private const string Red = "#d62718";
    private const string Yellow = "#f5d000";

    [Fact]
    public async Task Level_Set_Through_The_ThreatLevels_Api_Recolours_The_Open_Page_Without_Reload()
    {
        var page = await OpenAsync(Roles.Analyst, "analyst-page");
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");
        var client = new ThreatLevelsService.ThreatLevelsServiceClient(system.ThreatLevels.Channel(system.Token(Roles.Analyst, "analyst-grpc")));

        var response = await client.SetAssessmentAsync(new SetAssessmentRequest { Assessment = Draft("NE", ThreatLevel.AvoidNonEssential, "Attaques dans le Tillabéri") });
        Assert.Equal(ChangeOutcome.Applied, response.Outcome);

        await page.WaitForSelectorAsync($"path.country[data-code=NE][fill='{Orange}']", Attached);
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page must not have reloaded");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Analyst_Sets_A_Level_From_The_Panel_And_Approves_A_Proposal_From_Operations()
    {
        var proposer = new ThreatLevelsService.ThreatLevelsServiceClient(system.ThreatLevels.Channel(system.Token(Roles.Analyst, "analyst-proposer")));
        var proposed = await proposer.SetAssessmentAsync(new SetAssessmentRequest { Assessment = Draft("ML", ThreatLevel.DoNotTravel, "Blocus de Bamako") });
        Assert.Equal(ChangeOutcome.Proposed, proposed.Outcome);

        var page = await OpenAsync(Roles.Analyst, "analyst-approver");
        await page.SelectOptionAsync("#country-pick", "BF");
        await page.SelectOptionAsync("#set-level-level", "2");
        await page.FillAsync("#set-level-reason", "Manifestations à Ouagadougou");
        await page.ClickAsync("form[data-action=set-level] button[type=submit]");
        await page.WaitForSelectorAsync($"path.country[data-code=BF][fill='{Yellow}']", Attached);
        await Assertions.Expect(page.Locator("#panel-body")).ToContainTextAsync("Manifestations à Ouagadougou");

        await page.ClickAsync("#tab-operations");
        var approve = page.Locator("#view-operations [data-action=approve]");
        await Assertions.Expect(approve).ToHaveCountAsync(1);
        await approve.ClickAsync();
        await page.WaitForSelectorAsync($"path.country[data-code=ML][fill='{Red}']", Attached);
        await page.ClickAsync("#tab-alerts");
        await page.SelectOptionAsync("#country-pick", "ML");
        await Assertions.Expect(page.Locator("#panel-level")).ToContainTextAsync("4");
        await DashboardFixture.ScreenshotAsync(page, "system-after-approval");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Initial_State_Is_Loaded_From_The_ThreatLevels_Api()
    {
        var client = new ThreatLevelsService.ThreatLevelsServiceClient(system.ThreatLevels.Channel(system.Token(Roles.Analyst, "analyst-seed")));
        await client.SetAssessmentAsync(new SetAssessmentRequest { Assessment = Draft("PE", ThreatLevel.Increased, "Seed") });

        // A second dashboard with no sidecar (no events at all) still shows the level: it came from ListAssessments.
        await using var isolated = await ServiceHostWithSharedKeyAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{isolated.Port}/") };
        http.DefaultRequestHeaders.Authorization = new("Bearer", system.Token(Roles.CrisisCellViewer, "viewer-seed"));
        var map = await http.GetStringAsync(new Uri("api/map", UriKind.Relative));
        Assert.Contains("\"code\":\"PE\",\"level\":2", map, StringComparison.Ordinal);
    }

    private async Task<IsolatedDashboard> ServiceHostWithSharedKeyAsync()
    {
        var data = new Testing.TempDirectory("dash-isolated");
        File.Copy(Path.Combine(system.Dashboard.DataDir, DevTokens.KeyFileName), Path.Combine(data.Path, DevTokens.KeyFileName));
        var port = Testing.FreePort.Next();
        var host = await Testing.ServiceHost.StartAsync(DashboardApp.Create, new Dictionary<string, string>
        {
            ["WEB_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Services:ThreatLevels"] = system.ThreatLevels.GrpcAddress.ToString(),
        }, dataDir: data.Path);
        return new IsolatedDashboard(host, data, port);
    }

    private sealed record IsolatedDashboard(Testing.ServiceHost Host, Testing.TempDirectory Data, int Port) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            Data.Dispose();
        }
    }

    private static readonly PageWaitForSelectorOptions Attached = new() { State = WaitForSelectorState.Attached, Timeout = 60_000 };

    private static AssessmentDraft Draft(string country, ThreatLevel level, string reason) => new()
    {
        Area = new Area { CountryCode = country },
        Level = level,
        Reason = reason,
        Summary = new LocalizedText { Fr = "Situation sécuritaire dégradée.", En = "Deteriorating security situation." },
        Advice = new LocalizedText { Fr = "Reportez les déplacements.", En = "Postpone travel." },
        Categories = { new CategoryRating { Category = ThreatCategory.Terrorism, Severity = Severity.Severe } },
    };

    private async Task<IPage> OpenAsync(string role, string subject)
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(system.WebAddress.ToString());
        await page.FillAsync("#token", system.Token(role, subject));
        await page.ClickAsync("#signin-form button[type=submit]");
        await page.WaitForSelectorAsync("#live[data-live=on]");
        return page;
    }
}

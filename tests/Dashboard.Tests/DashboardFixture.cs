using System.Diagnostics;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Testing;
using Microsoft.Playwright;

namespace Dcis.Crisis.Dashboard.Tests;

/// <summary>
/// One dashboard on real Kestrel (its own SQLite file, dev signing key, free ports) and one headless
/// Debian chromium driven by Playwright, shared by the browser tests. Each test opens its own page.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";
    private IPlaywright? _playwright;

    public ServiceHost Host { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public int WebPort { get; private set; }

    public Uri WebAddress => new($"http://127.0.0.1:{WebPort}/");

    public Uri CallbackAddress => new($"http://127.0.0.1:{Host.HttpPort}/");

    public static string ScreenshotDir
    {
        get
        {
            var path = Path.Combine(Repository.Root, "artifacts", "screenshots");
            Directory.CreateDirectory(path);
            return path;
        }
    }

    public async Task InitializeAsync()
    {
        WebPort = FreePort.Next();
        Host = await StartDashboardAsync(WebPort);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });
    }

    /// <summary>Starts a dashboard; health is watched on its own /healthz so the operations view has a known answer.</summary>
    public static async Task<ServiceHost> StartDashboardAsync(int webPort, IReadOnlyDictionary<string, string>? extra = null)
    {
        var httpPort = FreePort.Next();
        var settings = new Dictionary<string, string>
        {
            ["WEB_PORT"] = webPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Health:Targets:dashboard"] = $"http://127.0.0.1:{httpPort}/healthz",
            ["Services:ThreatLevels"] = $"http://127.0.0.1:{FreePort.Next()}",
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
        {
            settings[k] = v;
        }

        return await ServiceHost.StartAsync(DashboardApp.Create, settings, httpPort: httpPort);
    }

    public string Token(string role, string subject = "analyst-test") => Host.Token(role, subject);

    /// <summary>Opens the dashboard at 1280×800 and signs in with a token of the role; waits until the live stream is on.</summary>
    public async Task<IPage> OpenAsync(string role = Roles.Analyst, string language = "fr")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            Locale = language == "fr" ? "fr-FR" : "en-GB",
        });
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                Debug.WriteLine("browser console: " + message.Text);
            }
        };
        await page.GotoAsync(WebAddress.ToString());
        if (language == "en")
        {
            await page.ClickAsync("#lang");
        }

        await page.FillAsync("#token", Token(role));
        await page.ClickAsync("#signin-form button[type=submit]");
        await page.WaitForSelectorAsync("#live[data-live=on]");
        await page.WaitForSelectorAsync("path.country[data-code]", new PageWaitForSelectorOptions { State = WaitForSelectorState.Attached });
        return page;
    }

    public static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDir, name + ".png") });

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserGroup : ICollectionFixture<DashboardFixture>
{
    public const string Name = "browser";
}

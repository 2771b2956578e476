using System.Globalization;
using System.Xml.Linq;
using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.Storage;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Security;

namespace Dcis.Crisis.Advisories.Http;

/// <summary>
/// Feeds on the HTTP port for systems that poll: a company's Atom feed of its advisories (each
/// entry linking to its CAP document) and each advisory as CAP 1.2. JWT bearer, company scoped.
/// </summary>
internal static class FeedEndpoints
{
    private static readonly XNamespace Atom = "http://www.w3.org/2005/Atom";

    public static RouteGroupBuilder MapAdvisoryFeeds(this IEndpointRouteBuilder endpoints)
    {
        var app = endpoints.MapGroup("/v1/companies/{companyId}").RequireAuthorization(CrisisPolicies.Company);
        app.MapGet("/advisories.atom", async (string companyId, HttpContext http, AdvisoryStore store, CancellationToken ct) =>
        {
            if (Scope(http, companyId) is { } denied)
            {
                return denied;
            }

            var (advisories, _) = await store.ListAsync(companyId, false, 100, string.Empty, ct);
            var fr = IsFrench(http.Request);
            var self = $"{http.Request.Scheme}://{http.Request.Host}/v1/companies/{companyId}/advisories.atom{(fr ? "?lang=fr" : string.Empty)}";
            var feed = new XElement(Atom + "feed",
                new XAttribute(XNamespace.Xml + "lang", fr ? "fr" : "en"),
                new XElement(Atom + "id", $"urn:dcis-crisis:advisories:{companyId}"),
                new XElement(Atom + "title", fr ? $"Avis de sûreté DCIS — {companyId}" : $"DCIS security advisories — {companyId}"),
                new XElement(Atom + "updated", AtomTime(advisories.Count > 0 ? advisories[0].IssuedAt.ToDateTimeOffset() : DateTimeOffset.UnixEpoch)),
                new XElement(Atom + "author", new XElement(Atom + "name", "DCIS crisis cell")),
                new XElement(Atom + "link", new XAttribute("rel", "self"), new XAttribute("href", self)));
            foreach (var a in advisories)
            {
                feed.Add(new XElement(Atom + "entry",
                    new XElement(Atom + "id", $"urn:dcis-crisis:advisory:{a.AdvisoryId}"),
                    new XElement(Atom + "title", fr ? a.Headline.Fr : a.Headline.En),
                    new XElement(Atom + "updated", AtomTime(a.IssuedAt.ToDateTimeOffset())),
                    // A crisis closing carries no level: no "level-0" category for it.
                    a.NewLevel == ThreatLevel.Unspecified
                        ? null
                        : new XElement(Atom + "category", new XAttribute("term", "level-" + ((int)a.NewLevel).ToString(CultureInfo.InvariantCulture))),
                    new XElement(Atom + "link", new XAttribute("rel", "alternate"), new XAttribute("type", "application/cap+xml"),
                        new XAttribute("href", $"/v1/companies/{companyId}/advisories/{a.AdvisoryId}/cap.xml")),
                    new XElement(Atom + "summary", fr ? a.Description.Fr : a.Description.En)));
            }

            return Results.Text(new XDocument(new XDeclaration("1.0", "utf-8", null), feed).ToString(), "application/atom+xml; charset=utf-8");
        });

        app.MapGet("/advisories/{advisoryId}/cap.xml", async (string companyId, string advisoryId, HttpContext http, AdvisoryStore store, CancellationToken ct) =>
        {
            if (Scope(http, companyId) is { } denied)
            {
                return denied;
            }

            try
            {
                var advisory = await store.GetAsync(companyId, advisoryId, ct);
                return Results.Text(CapDocument.Build(advisory).ToString(), "application/cap+xml; charset=utf-8");
            }
            catch (NotFoundException)
            {
                return Results.NotFound();
            }
        });
        return app;
    }

    private static IResult? Scope(HttpContext http, string companyId)
    {
        try
        {
            CompanyScope.Resolve(Caller.FromPrincipal(http.User), companyId);
            return null;
        }
        catch (AccessDeniedException)
        {
            return Results.StatusCode(StatusCodes.Status403Forbidden);
        }
    }

    /// <summary>
    /// French with <c>?lang=fr</c>, or when the client prefers French (<c>Accept-Language</c>) and no
    /// <c>lang</c> is given; English otherwise. Advisories are written in both; a French-speaking
    /// security desk's feed reader shows French.
    /// </summary>
    private static bool IsFrench(HttpRequest request)
    {
        if (request.Query.TryGetValue("lang", out var lang) && lang.Count > 0)
        {
            return string.Equals(lang[0], "fr", StringComparison.OrdinalIgnoreCase);
        }

        var preferred = request.GetTypedHeaders().AcceptLanguage
            .Where(l => l.Quality is null or > 0)
            .OrderByDescending(l => l.Quality ?? 1)
            .Select(l => l.Value.Value ?? string.Empty)
            .FirstOrDefault(l => l.StartsWith("fr", StringComparison.OrdinalIgnoreCase) || l.StartsWith("en", StringComparison.OrdinalIgnoreCase));
        return preferred?.StartsWith("fr", StringComparison.OrdinalIgnoreCase) == true;
    }

    private static string AtomTime(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

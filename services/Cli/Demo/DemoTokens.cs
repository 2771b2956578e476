using Dcis.Crisis.Shared.Security;

namespace Dcis.Crisis.Cli.Demo;

/// <summary>The demo's cast, each with a development token from the data directory's key.</summary>
internal sealed class DemoTokens(string dataDir)
{
    private readonly Microsoft.IdentityModel.Tokens.SymmetricSecurityKey _key = DevTokens.LoadOrCreateKey(dataDir);

    public string Analyst(string subject = "analyst-claire") => Mint(new TokenRequest(subject, [Roles.Analyst]));

    public string Attache(string country) => Mint(new TokenRequest($"attache-{country.ToLowerInvariant()}", [Roles.Attache]) { Countries = [country] });

    public string Officer(string postId) => Mint(new TokenRequest($"officer-{postId}", [Roles.ConsularOfficer]) { PostId = postId });

    public string Company(string companyId) => Mint(new TokenRequest($"security-{companyId}", [Roles.CompanySecurity]) { CompanyId = companyId });

    public string Registrant(string registrantId) => Mint(new TokenRequest(registrantId, [Roles.Registrant]) { RegistrantId = registrantId });

    public string Viewer() => Mint(new TokenRequest("viewer", [Roles.CrisisCellViewer]));

    private string Mint(TokenRequest request) => DevTokens.Mint(_key, request);
}

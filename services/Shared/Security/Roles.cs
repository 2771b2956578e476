namespace Dcis.Crisis.Shared.Security;

/// <summary>The roles a token may carry (claim <c>role</c>), from ARCHITECTURE.md.</summary>
public static class Roles
{
    /// <summary>Crisis-cell analyst: sets levels, declares crises, approves.</summary>
    public const string Analyst = "analyst";

    /// <summary>Internal-security attaché: proposes changes for the countries of the post.</summary>
    public const string Attache = "attache";

    /// <summary>Consular officer of a post.</summary>
    public const string ConsularOfficer = "consular-officer";

    /// <summary>A company's security manager or its travel-advisory system.</summary>
    public const string CompanySecurity = "company-security";

    /// <summary>A registrant (resident or traveller) using their own app.</summary>
    public const string Registrant = "registrant";

    /// <summary>Read-only crisis-cell dashboard user.</summary>
    public const string CrisisCellViewer = "crisis-cell-viewer";

    /// <summary>Every role, for validation of minted tokens.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        Analyst, Attache, ConsularOfficer, CompanySecurity, Registrant, CrisisCellViewer,
    };
}

/// <summary>Claim names that scope what a caller may see and change.</summary>
public static class CrisisClaims
{
    /// <summary>Role claim (repeatable).</summary>
    public const string Role = "role";

    /// <summary>Post of a consular officer or attaché. Example: <c>post-bamako</c>.</summary>
    public const string PostId = "post_id";

    /// <summary>Company of a company-security caller.</summary>
    public const string CompanyId = "company_id";

    /// <summary>Registrant id of a registrant caller.</summary>
    public const string RegistrantId = "registrant_id";

    /// <summary>Space-separated ISO 3166-1 codes an attaché covers. Example: <c>ML NE</c>.</summary>
    public const string Countries = "countries";
}

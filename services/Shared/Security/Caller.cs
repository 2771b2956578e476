using System.Security.Claims;

namespace Dcis.Crisis.Shared.Security;

/// <summary>
/// Who is calling, as plain data: domain code takes a <see cref="Caller"/> for object-level checks
/// and never sees a ClaimsPrincipal, a token or an HTTP context.
/// </summary>
public sealed record Caller(
    string Subject,
    IReadOnlySet<string> Roles,
    string? PostId,
    string? CompanyId,
    string? RegistrantId,
    IReadOnlySet<string> Countries)
{
    /// <summary>Whether the caller holds the role.</summary>
    public bool IsInRole(string role) => Roles.Contains(role);

    /// <summary>Whether the caller holds any of the roles.</summary>
    public bool IsInAnyRole(params string[] roles) => roles.Any(Roles.Contains);

    /// <summary>Builds a caller from validated claims.</summary>
    public static Caller FromPrincipal(ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var countries = (principal.FindFirst(CrisisClaims.Countries)?.Value ?? string.Empty)
            .Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(c => c.ToUpperInvariant())
            .ToHashSet(StringComparer.Ordinal);
        return new Caller(
            principal.FindFirst("sub")?.Value ?? principal.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? "anonymous",
            principal.FindAll(CrisisClaims.Role).Select(c => c.Value).ToHashSet(StringComparer.Ordinal),
            principal.FindFirst(CrisisClaims.PostId)?.Value,
            principal.FindFirst(CrisisClaims.CompanyId)?.Value,
            principal.FindFirst(CrisisClaims.RegistrantId)?.Value,
            countries);
    }
}

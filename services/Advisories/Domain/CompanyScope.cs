using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Security;

namespace Dcis.Crisis.Advisories.Domain;

/// <summary>
/// Which company a caller acts for. A company-security token acts for the company of its
/// <c>company_id</c> claim and no other; an empty company id in a request means that one.
/// </summary>
internal static class CompanyScope
{
    public static string Resolve(Caller caller, string? requestedCompanyId)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsInRole(Roles.CompanySecurity) || string.IsNullOrEmpty(caller.CompanyId))
        {
            throw new AccessDeniedException("only a company's security manager may act on its data");
        }

        if (!string.IsNullOrEmpty(requestedCompanyId) && !string.Equals(requestedCompanyId, caller.CompanyId, StringComparison.Ordinal))
        {
            throw new AccessDeniedException("a company may act only on its own data");
        }

        return caller.CompanyId;
    }
}

using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Security;

namespace Dcis.Crisis.Consular.Domain;

/// <summary>
/// Object-level authorization: officers act within their post's jurisdiction, registrants on
/// themselves, analysts and crisis-cell viewers read counts only. Policies on the RPCs check the
/// role; these checks look at the object.
/// </summary>
internal static class Access
{
    public static bool IsOfficer(this Caller caller) => caller.IsInRole(Roles.ConsularOfficer);

    public static bool IsCountsReader(this Caller caller) => caller.IsInAnyRole(Roles.Analyst, Roles.CrisisCellViewer);

    /// <summary>An officer acting on an area: the whole area must be within the post's jurisdiction.</summary>
    public static void RequireOfficerFor(this Caller caller, PostDirectory posts, Area area)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(posts);
        if (!caller.IsOfficer() || !posts.CoversArea(caller.PostId, area))
        {
            throw new AccessDeniedException("the area is outside the jurisdiction of your post");
        }
    }

    /// <summary>Counts of an area: officers within jurisdiction; analysts and viewers anywhere.</summary>
    public static void RequireCountsReaderFor(this Caller caller, PostDirectory posts, Area area)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsCountsReader())
        {
            caller.RequireOfficerFor(posts, area);
        }
    }

    /// <summary>A registrant's data: the registrant themselves, or an officer of a post covering one of their places.</summary>
    public static void RequireRegistrantAccess(this Caller caller, PostDirectory posts, string registrantId, IEnumerable<(string Country, string? Subdivision)> places)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(posts);
        if (caller.IsInRole(Roles.Registrant) && string.Equals(caller.RegistrantId, registrantId, StringComparison.Ordinal))
        {
            return;
        }

        if (caller.IsOfficer() && places.Any(p => posts.CoversPlace(caller.PostId, p.Country, p.Subdivision)))
        {
            return;
        }

        throw new AccessDeniedException("you may not access this registrant");
    }
}

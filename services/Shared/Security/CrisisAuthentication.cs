using Dcis.Crisis.Shared.Hosting;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace Dcis.Crisis.Shared.Security;

/// <summary>JWT bearer authentication and the named policies shared by every service.</summary>
public static class CrisisAuthentication
{
    /// <summary>
    /// Adds JWT bearer validation. With <c>Auth:Authority</c> set the service trusts that OIDC
    /// provider; otherwise it trusts the development key in the data directory.
    /// Every endpoint requires an authenticated caller unless it opts out (health).
    /// </summary>
    public static IServiceCollection AddCrisisAuthentication(
        this IServiceCollection services, IConfiguration configuration, CrisisServiceOptions options)
    {
        var authority = configuration["Auth:Authority"];
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer(jwt =>
            {
                // Keep claim names as the token spells them ("role", "post_id"), no WS-* mapping.
                jwt.MapInboundClaims = false;
                // Validate each distinct token once (until it expires, at most 5 minutes), not on every call.
                jwt.TokenHandlers.Clear();
                jwt.TokenHandlers.Add(new CachingJsonWebTokenHandler { MapInboundClaims = false });
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidateIssuer = true,
                    ValidateAudience = true,
                    ValidateLifetime = true,
                    ValidateIssuerSigningKey = true,
                    ValidAudience = configuration["Auth:Audience"] ?? DevTokens.Audience,
                    RoleClaimType = CrisisClaims.Role,
                    NameClaimType = "sub",
                    ClockSkew = TimeSpan.FromSeconds(30),
                };
                if (!string.IsNullOrWhiteSpace(authority))
                {
                    jwt.Authority = authority;
                    jwt.TokenValidationParameters.ValidIssuer = authority;
                }
                else
                {
                    jwt.TokenValidationParameters.ValidIssuer = DevTokens.Issuer;
                    jwt.TokenValidationParameters.IssuerSigningKey = DevTokens.LoadOrCreateKey(options.DataDir);
                }
            });

        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(CrisisPolicies.Analyst, p => p.RequireRole(Roles.Analyst))
            .AddPolicy(CrisisPolicies.CrisisCell, p => p.RequireRole(Roles.Analyst, Roles.CrisisCellViewer))
            .AddPolicy(CrisisPolicies.ReadThreatLevels, p => p.RequireRole(
                Roles.Analyst, Roles.Attache, Roles.CrisisCellViewer, Roles.ConsularOfficer, Roles.CompanySecurity))
            .AddPolicy(CrisisPolicies.ProposeThreatLevels, p => p.RequireRole(Roles.Analyst, Roles.Attache))
            .AddPolicy(CrisisPolicies.Consular, p => p.RequireRole(Roles.ConsularOfficer, Roles.Analyst))
            .AddPolicy(CrisisPolicies.Registrant, p => p.RequireRole(Roles.Registrant))
            .AddPolicy(CrisisPolicies.Company, p => p.RequireRole(Roles.CompanySecurity));
        return services;
    }

    /// <summary>The caller of a gRPC call, as plain data for the domain.</summary>
    public static Caller GetCaller(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Caller.FromPrincipal(context.GetHttpContext().User);
    }
}

/// <summary>Named authorization policies (use with <c>[Authorize(Policy = ...)]</c>).</summary>
public static class CrisisPolicies
{
    /// <summary>Analysts only.</summary>
    public const string Analyst = "analyst";

    /// <summary>Analysts and crisis-cell viewers.</summary>
    public const string CrisisCell = "crisis-cell";

    /// <summary>Everyone who may read threat levels.</summary>
    public const string ReadThreatLevels = "read-threat-levels";

    /// <summary>Analysts and attachés (attachés limited to their countries by the service).</summary>
    public const string ProposeThreatLevels = "propose-threat-levels";

    /// <summary>Consular officers (and analysts, who see counts).</summary>
    public const string Consular = "consular";

    /// <summary>Registrants acting for themselves.</summary>
    public const string Registrant = "registrant";

    /// <summary>Company security callers.</summary>
    public const string Company = "company";
}

using System.CommandLine;
using Dcis.Crisis.Shared.Security;

namespace Dcis.Crisis.Cli.Commands;

/// <summary><c>crisis token</c>: mints a development JWT from the key in the data directory.</summary>
internal static class TokenCommand
{
    public static Command Build(CliContext context)
    {
        var role = new Option<string[]>("--role", "-r")
        {
            Description = $"Role(s): {string.Join(", ", Roles.All.Order(StringComparer.Ordinal))}.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var post = new Option<string?>("--post") { Description = "Post id (consular officer, attaché). Example: post-bamako." };
        var company = new Option<string?>("--company") { Description = "Company id (company-security)." };
        var registrant = new Option<string?>("--registrant") { Description = "Registrant id (registrant)." };
        var countries = new Option<string[]>("--countries") { Description = "ISO 3166-1 codes an attaché covers. Example: ML NE.", AllowMultipleArgumentsPerToken = true };
        var subject = new Option<string?>("--subject") { Description = "Subject (user id); default derived from the role." };
        var hours = new Option<double>("--hours") { Description = "Lifetime in hours.", DefaultValueFactory = _ => 8 };

        var command = new Command("token", "Mint a development token (signed with the key in the data directory, created on first use).")
        {
            role, post, company, registrant, countries, subject, hours,
        };
        command.SetAction(parse =>
        {
            var roles = parse.GetValue(role) ?? [];
            var unknown = roles.Where(r => !Roles.All.Contains(r)).ToList();
            if (roles.Length == 0 || unknown.Count > 0)
            {
                Console.Error.WriteLine($"error: unknown role(s) {string.Join(", ", unknown)}; expected one of {string.Join(", ", Roles.All.Order(StringComparer.Ordinal))}");
                return 2;
            }

            var key = DevTokens.LoadOrCreateKey(parse.GetValue(context.DataDir)!);
            var token = DevTokens.Mint(key, new TokenRequest(parse.GetValue(subject) ?? $"{roles[0]}-dev", roles)
            {
                PostId = parse.GetValue(post),
                CompanyId = parse.GetValue(company),
                RegistrantId = parse.GetValue(registrant),
                Countries = (parse.GetValue(countries) ?? []).Select(c => c.ToUpperInvariant()).ToList(),
                Lifetime = TimeSpan.FromHours(parse.GetValue(hours)),
            });
            Console.WriteLine(token);
            return 0;
        });
        return command;
    }
}

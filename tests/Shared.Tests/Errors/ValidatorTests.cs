using Dcis.Crisis.Shared.Errors;

namespace Dcis.Crisis.Shared.Tests.Errors;

public sealed class ValidatorTests
{
    [Theory]
    [InlineData("+33612345678", true)]
    [InlineData("+2237012345", true)]
    [InlineData("0612345678", false)]
    [InlineData("+0612345678", false)]
    [InlineData("+33 6 12 34 56 78", false)]
    public void E164_Accepts_Only_International_Numbers(string phone, bool valid) =>
        Assert.Equal(valid, new Validator().E164("phone", phone).IsValid);

    [Theory]
    [InlineData("marie@example.fr", true)]
    [InlineData("marie@", false)]
    [InlineData("marie example.fr", false)]
    public void Email_Rejects_Malformed_Addresses(string email, bool valid) =>
        Assert.Equal(valid, new Validator().Email("email", email).IsValid);

    [Fact]
    public void All_Violations_Are_Reported_Together()
    {
        var ex = Assert.Throws<ValidationFailedException>(() =>
            new Validator().Required("reason", " ").MaxLength("summary", new string('x', 5000), 4000).PageSize("page_size", 10_000).ThrowIfInvalid());
        Assert.Equal(["reason", "summary", "page_size"], ex.Violations.Select(v => v.Field).ToArray());
    }
}

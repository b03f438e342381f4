using System.Net;
using System.Text.Json;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>The broker's <c>/openapi.json</c>, one per listener (the Trustee API's, the admin API's), against the routes mapped on it.</summary>
public sealed class OpenApiDocumentTests(KbsFixture kbs) : IClassFixture<KbsFixture>
{
    [Fact]
    public async Task OpenApi_AttesterListener_DocumentsExactlyItsRoutesToAnAnonymousClient()
    {
        using var anonymous = kbs.Client();

        await OpenApiRoutes.AssertDocumentsRoutesAsync(kbs.App, kbs.Attesters, anonymous);
    }

    [Fact]
    public async Task OpenApi_AdminListener_DocumentsExactlyItsRoutesToKbsAdmin()
    {
        using var admin = kbs.Client(ServiceRoles.KbsAdmin, kbs.Admin);

        await OpenApiRoutes.AssertDocumentsRoutesAsync(kbs.App, kbs.Admin, admin);
    }

    [Fact]
    public void OpenApi_EachListener_HoldsItsOwnApiAndNotTheOther()
    {
        var attesters = OpenApiRoutes.MappedOn(kbs.App, kbs.Attesters);
        var admin = OpenApiRoutes.MappedOn(kbs.App, kbs.Admin);

        Assert.Contains("POST /kbs/v0/auth", attesters);
        Assert.Contains("POST /kbs/v0/attest", attesters);
        Assert.Contains("GET /kbs/v0/resource/{repository}/{type}/{tag}", attesters);
        Assert.Contains("GET " + OpenApiDocuments.Route, attesters);
        Assert.DoesNotContain("PUT /kbs/v0/admin/policy", attesters);
        Assert.Contains("PUT /kbs/v0/admin/policy", admin);
        Assert.Contains("DELETE /kbs/v0/admin/resources/{repository}/{type}/{tag}", admin);
        Assert.DoesNotContain("POST /kbs/v0/attest", admin);
    }

    [Theory]
    [InlineData(ServiceRoles.Tenant)]
    [InlineData(ServiceRoles.Agent)]
    public async Task OpenApi_AdminListenerOtherRole_RefusedAsTheAdminRoutes(string role)
    {
        using var client = kbs.Client(role, kbs.Admin);

        using var document = await client.GetAsync(new Uri("openapi.json", UriKind.Relative));
        using var route = await client.GetAsync(new Uri("kbs/v0/admin/policy", UriKind.Relative));

        var expected = (HttpStatusCode.Forbidden, $"client certificate role '{role}' is not allowed here: needs kbs-admin");
        Assert.Equal(expected, await ProblemAsync(document));
        Assert.Equal(expected, await ProblemAsync(route));
    }

    private static async Task<(HttpStatusCode, string?)> ProblemAsync(HttpResponseMessage response)
    {
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, problem.RootElement.GetProperty("detail").GetString());
    }
}

using System.Net;
using System.Security.Cryptography;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Registrar.Tests;

/// <summary>
/// The attack of a node owner who wants a quoting key in software: an ECC key made outside the TPM, its public area
/// claiming the AK attributes (fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign), loaded
/// public-only with TPM2_LoadExternal into the real TPM holding the real, certified EK, and registered.
/// </summary>
public sealed class SoftwareAkTests(RegistrarFixture fixture) : IClassFixture<RegistrarFixture>
{
    /// <summary>PolicyCommandCode(TPM2_CC_ActivateCredential) with SHA-256: a policy anyone can satisfy.</summary>
    private static readonly byte[] ActivateCredentialPolicy =
        Convert.FromHexString("e587c11ab50f9d8730f721e3fea42b46c0455b246f96aee85d18eb3be64d666a");

    private static TpmPublic SoftwareAk(ECDsa key, TpmaObject extraAttributes = 0, byte[]? authPolicy = null)
    {
        var q = key.ExportParameters(false).Q;
        var template = TpmTemplates.AkEccP256();
        return template with
        {
            Attributes = template.Attributes | extraAttributes,
            AuthPolicy = authPolicy ?? [],
            Ecc = template.Ecc! with { X = q.X!, Y = q.Y! },
        };
    }

    [Fact]
    public async Task SoftwareAkClaimingFixedTpm_LoadedPublicOnly_TpmRefusesActivateCredentialAndAgentStaysInactive()
    {
        var id = Guid.NewGuid().ToString();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var softwareAk = SoftwareAk(key);
        using var device = fixture.Swtpm.OpenDevice();
        var ek = await device.CreateEkAsync(TpmAlgId.Rsa);
        // The TPM loads a public area claiming fixedTPM without complaint when no private part comes with it.
        var loaded = await device.ExecuteAsync(new LoadExternalPublicCommand(softwareAk));
        try
        {
            Assert.Equal(softwareAk.ComputeName(), loaded.Name);
            Assert.Equal(TpmTemplates.AkAttributes, (await device.ReadPublicAsync(loaded.Handle)).Public.Attributes);
            var registration = new AgentRegistration(ek.Public.ToTpm2bPublic(), await device.ReadEkCertificateAsync(),
                softwareAk.ToTpm2bPublic(), fixture.CertificatePem(ServiceRoles.Agent), "127.0.0.1:9002");
            // Nothing in the public areas or certificates tells the registrar: it issues the challenge...
            var challenge = await fixture.Agents().RegisterAsync(id, registration);

            // ...which the TPM will not open for a public-only object: ActivateCredential needs the key's admin role,
            // and with adminWithPolicy clear that is its authValue, which a public-only object does not have.
            var refused = await Assert.ThrowsAsync<TpmException>(() =>
                device.ActivateCredentialAsync(loaded.Handle, ek.Handle, challenge.CredentialBlob, challenge.EncryptedSecret));
            Assert.Equal(0x12Fu, refused.ResponseCode);
            Assert.Contains("TPM_RC_AUTH_UNAVAILABLE", refused.Message, StringComparison.Ordinal);

            var e = await Assert.ThrowsAsync<ServiceProblemException>(() =>
                fixture.Agents().ActivateAsync(id, new ActivationProof(RandomNumberGenerator.GetBytes(32))));
            Assert.Equal(HttpStatusCode.Forbidden, e.Status);
            Assert.Equal("the activation proof does not match the credential challenge", e.Detail);
            Assert.False((await fixture.Management().GetAsync(id))!.Active);
        }
        finally
        {
            await device.FlushContextAsync(loaded.Handle);
            await device.FlushContextAsync(ek.Handle);
        }
    }

    [Fact]
    public async Task SoftwareAkWithAdminPolicy_RefusedAtRegistration()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // The same key opening its admin role to a policy session anyone can satisfy, instead of its authValue.
        var softwareAk = SoftwareAk(key, TpmaObject.AdminWithPolicy, ActivateCredentialPolicy);
        using var device = fixture.Swtpm.OpenDevice();
        var ek = await device.CreateEkAsync(TpmAlgId.Rsa);
        await device.FlushContextAsync(ek.Handle);
        var registration = new AgentRegistration(ek.Public.ToTpm2bPublic(), await device.ReadEkCertificateAsync(),
            softwareAk.ToTpm2bPublic(), fixture.CertificatePem(ServiceRoles.Agent), "127.0.0.1:9002");

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => fixture.Agents().RegisterAsync(Guid.NewGuid().ToString(), registration));

        Assert.Equal(HttpStatusCode.BadRequest, e.Status);
        Assert.Equal("invalid AK", e.Title);
        Assert.Equal("the AK has adminWithPolicy or an authPolicy: its admin role (ActivateCredential) must need its authValue", e.Detail);
    }
}

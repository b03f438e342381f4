using System.Security.Cryptography;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>verify-quote and make-credential: the verifier's and registrar's halves, which need no TPM themselves.</summary>
public sealed class TpmVerifyCommandsTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>
{
    private Task<CliResult> RunAsync(params string[] args) => CliHarness.RunAsync([.. args, "--tpm", tpm.Tcti]);

    /// <summary>An AK at <paramref name="handle"/> and a quote over sha256:0,1,15 in dir: ak.pem, msg, sig, pcrs.</summary>
    private async Task<string> QuoteAsync(ScratchDirectory dir, string handle, string alg = "ecc", string format = "pem", string pcrs = "sha256:0,1,15")
    {
        (await RunAsync("tpm", "ak", "create", "--out-public", dir["ak.pem"], "--persist", handle, "--alg", alg, "--format", format, "--force")).EnsureSuccess();
        var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        (await RunAsync("tpm", "quote", "--ak", handle, "--nonce", nonce, "--pcrs", pcrs,
            "--message", dir["msg"], "--signature", dir["sig"], "--pcr-values", dir["pcrs"])).EnsureSuccess();
        return nonce;
    }

    private Task<CliResult> VerifyAsync(ScratchDirectory dir, string nonce, string ak = "ak.pem", params string[] extra) =>
        RunAsync(["tpm", "verify-quote", "--ak", dir[ak], "--message", dir["msg"], "--signature", dir["sig"],
            "--pcr-values", dir["pcrs"], "--nonce", nonce, .. extra]);

    [Theory]
    [InlineData("ecc", "0x81010020")]
    [InlineData("rsa", "0x81010021")]
    public async Task VerifyQuote_OwnQuote_PrintsValid(string alg, string handle)
    {
        using var dir = new ScratchDirectory();
        var nonce = await QuoteAsync(dir, handle, alg);

        var result = await VerifyAsync(dir, nonce);

        Assert.Equal((0, "valid\n", ""), (result.ExitCode, result.Stdout, result.Stderr));
    }

    [Fact]
    public async Task VerifyQuote_Tpm2QuoteFiles_Valid()
    {
        using var dir = new ScratchDirectory();
        // tpm2-tools leave their objects loaded; without a resource manager the TPM runs out of slots.
        await tpm.Tpm2Async("tpm2_createek", "-c", dir["ek.ctx"], "-G", "rsa", "-u", dir["ek.pub"]);
        await tpm.Tpm2Async("tpm2_flushcontext", "-t");
        await tpm.Tpm2Async("tpm2_createak", "-C", dir["ek.ctx"], "-c", dir["ak.ctx"], "-G", "ecc", "-g", "sha256", "-s", "ecdsa",
            "-u", dir["ak.pem"], "-f", "pem");
        await tpm.Tpm2Async("tpm2_flushcontext", "-t");
        await tpm.Tpm2Async("tpm2_flushcontext", "-s");
        var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await tpm.Tpm2Async("tpm2_quote", "-c", dir["ak.ctx"], "-l", "sha256:0,1,15", "-q", nonce, "-m", dir["msg"],
            "-s", dir["sig"], "-o", dir["pcrs"], "-F", "values", "-g", "sha256");
        await tpm.Tpm2Async("tpm2_flushcontext", "-t");
        await tpm.Tpm2Async("tpm2_flushcontext", "-s");

        var result = await VerifyAsync(dir, nonce, "ak.pem", "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.True(result.Json.GetProperty("valid").GetBoolean());
        Assert.Equal("sha256:0,1,15", result.Json.GetProperty("pcrs").GetString());
    }

    [Fact]
    public async Task VerifyQuote_BadEvidence_ExitsOneWithTheReason()
    {
        using var dir = new ScratchDirectory();
        var nonce = await QuoteAsync(dir, "0x81010022");
        var pcrs = await File.ReadAllBytesAsync(dir["pcrs"]);
        var msg = await File.ReadAllBytesAsync(dir["msg"]);
        var sig = await File.ReadAllBytesAsync(dir["sig"]);

        Assert.Equal((1, "nonce mismatch\n"), Verdict(await VerifyAsync(dir, "00" + nonce[2..])));

        pcrs[0] ^= 0x80;
        await File.WriteAllBytesAsync(dir["pcrs"], pcrs);
        Assert.Equal((1, "pcr digest mismatch\n"), Verdict(await VerifyAsync(dir, nonce)));
        pcrs[0] ^= 0x80;
        await File.WriteAllBytesAsync(dir["pcrs"], pcrs[..^1]);
        Assert.Equal((1, "pcr values do not match the quoted selection: 95 bytes of values given, sha256:0,1,15 needs 96\n"),
            Verdict(await VerifyAsync(dir, nonce)));
        await File.WriteAllBytesAsync(dir["pcrs"], pcrs);

        sig[^1] ^= 1;
        await File.WriteAllBytesAsync(dir["sig"], sig);
        Assert.Equal((1, "signature invalid\n"), Verdict(await VerifyAsync(dir, nonce)));
        sig[^1] ^= 1;
        await File.WriteAllBytesAsync(dir["sig"], sig);

        await File.WriteAllBytesAsync(dir["msg"], msg[..10]);
        Assert.Equal((1, "malformed attestation: TPMS_ATTEST: qualifiedSigner: needs 34 bytes at offset 8, only 2 remain\n"),
            Verdict(await VerifyAsync(dir, nonce)));
        await File.WriteAllBytesAsync(dir["msg"], msg);

        Assert.Equal((0, "valid\n"), Verdict(await VerifyAsync(dir, nonce)));
    }

    [Fact]
    public async Task VerifyQuote_OtherAk_SignatureInvalid()
    {
        using var dir = new ScratchDirectory();
        var nonce = await QuoteAsync(dir, "0x81010023");
        (await RunAsync("tpm", "ak", "create", "--out-public", dir["other.pem"], "--persist", "0x81010024", "--force")).EnsureSuccess();

        Assert.Equal((1, "signature invalid\n"), Verdict(await VerifyAsync(dir, nonce, "other.pem")));
    }

    [Fact]
    public async Task VerifyQuote_AkFileNotAKey_ExitsTwo()
    {
        using var dir = new ScratchDirectory();
        var nonce = await QuoteAsync(dir, "0x81010025");
        await File.WriteAllTextAsync(dir["junk.pem"], "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");

        var result = await VerifyAsync(dir, nonce, "junk.pem");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: {dir["junk.pem"]}: AK public key PEM: label 'CERTIFICATE' is not PUBLIC KEY or RSA PUBLIC KEY\n", result.Stderr);
    }

    [Fact]
    public async Task VerifyQuote_NonceShorterThan16Bytes_ExitsOneWithTheReason()
    {
        using var dir = new ScratchDirectory();
        await QuoteAsync(dir, "0x81010027");

        Assert.Equal((1, "nonce is 15 bytes, at least 16 are required\n"), Verdict(await VerifyAsync(dir, new string('a', 30))));
    }

    [Fact]
    public async Task VerifyQuote_Sha1Bank_RefusedUnlessAllowSha1()
    {
        using var dir = new ScratchDirectory();
        var nonce = await QuoteAsync(dir, "0x81010028", pcrs: "sha1:0+sha256:0");

        Assert.Equal((1, "the quote selects sha1:0: SHA-1 is refused unless explicitly allowed\n"), Verdict(await VerifyAsync(dir, nonce)));
        Assert.Equal((0, "valid\n"), Verdict(await VerifyAsync(dir, nonce, "ak.pem", "--allow-sha1")));
    }

    [Fact]
    public async Task VerifyQuote_Tpm2bAk_ValidWhenRestrictedAndFixed()
    {
        using var dir = new ScratchDirectory();
        var nonce = await QuoteAsync(dir, "0x81010029", format: "tpm2b");

        Assert.Equal((0, "valid\n"), Verdict(await VerifyAsync(dir, nonce)));
    }

    [Fact]
    public async Task VerifyQuote_Tpm2bAkNotFixedTpmNorRestricted_ExitsTwoWithTheReason()
    {
        using var dir = new ScratchDirectory();
        var nonce = await QuoteAsync(dir, "0x8101002A", format: "tpm2b");
        // Same key, so the signature still verifies: only the attributes say it is no AK (size 2, type 2, nameAlg 2, attributes 4).
        var tpm2b = await File.ReadAllBytesAsync(dir["ak.pem"]);
        Assert.Equal(0x00050072u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(tpm2b.AsSpan(6)));
        tpm2b[7] &= 0xFE;
        tpm2b[9] &= 0xFD;
        await File.WriteAllBytesAsync(dir["soft.pub"], tpm2b);

        var result = await VerifyAsync(dir, nonce, "soft.pub");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: {dir["soft.pub"]}: TPM2B_PUBLIC: not a restricted signing key bound to its TPM: missing fixedTPM|restricted " +
            "(attributes 0x00040070; an AK needs fixedTPM|fixedParent|restricted|sign and no decrypt)\n", result.Stderr);
    }

    [Theory]
    [InlineData("rsa", "tpm2b")]
    [InlineData("ecc", "tpm2b")]
    [InlineData("rsa", "pem")]
    [InlineData("ecc", "pem")]
    public async Task MakeCredential_ThenActivate_SecretComesBack(string ekAlg, string ekFormat)
    {
        using var dir = new ScratchDirectory();
        var ek = (await RunAsync("tpm", "ek", "--alg", ekAlg, "--out", dir["ek.pub"], "--json")).EnsureSuccess().Json;
        if (ekFormat == "pem")
            await File.WriteAllTextAsync(dir["ek.pub"], ek.GetProperty("public_pem").GetString());
        var akName = (await RunAsync("tpm", "ak", "create", "--out-public", dir["ak.pem"], "--persist", "0x81010026", "--force", "--json"))
            .EnsureSuccess().Json.GetProperty("name").GetString()!;
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

        var made = await RunAsync("tpm", "make-credential", "--ek", dir["ek.pub"], "--ak-name", akName, "--secret", secret, "--out", dir["cred"], "--json");
        made.EnsureSuccess();
        Assert.Equal(ek.GetProperty("name").GetString(), made.Json.GetProperty("ek_name").GetString());

        var activated = await RunAsync("tpm", "activate-credential", "--ak", "0x81010026", "--ek-alg", ekAlg, "--in", dir["cred"]);
        Assert.Equal(secret + "\n", activated.EnsureSuccess().Stdout);
    }

    [Fact]
    public async Task MakeCredential_SecretLongerThanDigest_ExitsTwo()
    {
        using var dir = new ScratchDirectory();
        (await RunAsync("tpm", "ek", "--out", dir["ek.pub"])).EnsureSuccess();

        var result = await RunAsync("tpm", "make-credential", "--ek", dir["ek.pub"], "--ak-name", "000b" + new string('a', 64),
            "--secret", new string('b', 66), "--out", dir["cred"]);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: the secret is 33 bytes, too long: at most 32", result.Stderr);
        Assert.False(File.Exists(dir["cred"]));
    }

    private static (int, string) Verdict(CliResult r) => (r.ExitCode, r.Stdout);
}

using System.Security.Cryptography;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>AK, quote and credential activation, checked with tpm2-tools. Each test uses its own AK handle.</summary>
public sealed class TpmAttestationCommandsTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>
{
    private Task<CliResult> RunAsync(params string[] args) => CliHarness.RunAsync([.. args, "--tpm", tpm.Tcti]);

    private async Task<string> CreateAkAsync(ScratchDirectory dir, string handle, string alg = "ecc") =>
        (await RunAsync("tpm", "ak", "create", "--out-public", dir["ak.pem"], "--persist", handle, "--alg", alg, "--force", "--json"))
            .EnsureSuccess().Json.GetProperty("name").GetString()!;

    [Theory]
    [InlineData("ecc", "0x81010010")]
    [InlineData("rsa", "0x81010011")]
    [Trait("Category", "Slow")]
    public async Task Quote_AkCreated_Tpm2CheckQuoteAccepts(string alg, string handle)
    {
        using var dir = new ScratchDirectory();
        await CreateAkAsync(dir, handle, alg);
        var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));

        var quote = await RunAsync("tpm", "quote", "--ak", handle, "--nonce", nonce, "--pcrs", "sha256:0,1,15",
            "--message", dir["msg"], "--signature", dir["sig"], "--pcr-values", dir["pcrs"]);

        quote.EnsureSuccess();
        Assert.Equal(3 * 32, new FileInfo(dir["pcrs"]).Length);
        var check = await CheckQuoteAsync(dir, nonce);
        Assert.True(check.ExitCode == 0, check.StandardError);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Quote_TamperedPcrValues_Tpm2CheckQuoteRefuses()
    {
        using var dir = new ScratchDirectory();
        await CreateAkAsync(dir, "0x81010012");
        var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        (await RunAsync("tpm", "quote", "--ak", "0x81010012", "--nonce", nonce, "--pcrs", "sha256:0,1,15",
            "--message", dir["msg"], "--signature", dir["sig"], "--pcr-values", dir["pcrs"])).EnsureSuccess();

        var values = await File.ReadAllBytesAsync(dir["pcrs"]);
        values[^1] ^= 1;
        await File.WriteAllBytesAsync(dir["pcrs"], values);

        Assert.NotEqual(0, (await CheckQuoteAsync(dir, nonce)).ExitCode);
    }

    [Fact]
    public async Task Quote_Json_DigestMatchesPcrValues()
    {
        using var dir = new ScratchDirectory();
        await CreateAkAsync(dir, "0x81010013");

        var json = (await RunAsync("tpm", "quote", "--ak", "0x81010013", "--nonce", "00ff", "--pcrs", "sha256:0,15+sha1:7", "--json"))
            .EnsureSuccess().Json;

        Assert.Equal("sha256:0,15+sha1:7", json.GetProperty("pcrs").GetString());
        Assert.Equal("00ff", json.GetProperty("nonce").GetString());
        var values = Convert.FromHexString(json.GetProperty("pcr_values").GetString()!);
        Assert.Equal(32 + 32 + 20, values.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(values)), json.GetProperty("pcr_digest").GetString());
    }

    [Fact]
    public async Task AkCreate_DefaultHandleOccupied_ExitsOneWithExactError()
    {
        using var dir = new ScratchDirectory();
        (await RunAsync("tpm", "ak", "create", "--out-public", dir["ak.pem"])).EnsureSuccess();

        var again = await RunAsync("tpm", "ak", "create", "--out-public", dir["ak2.pem"]);

        Assert.Equal(1, again.ExitCode);
        Assert.Equal("error: handle 0x81010002 is in use; evict it or pick another with --persist\n", again.Stderr);
        Assert.False(File.Exists(dir["ak2.pem"]));
        (await RunAsync("tpm", "ak", "evict", "0x81010002")).EnsureSuccess();
    }

    [Fact]
    public async Task AkCreate_Tpm2bFormat_WritesParsablePublicWithPrintedName()
    {
        using var dir = new ScratchDirectory();
        var json = (await RunAsync("tpm", "ak", "create", "--out-public", dir["ak.pub"], "--format", "tpm2b", "--persist", "2164326420", "--force", "--json"))
            .EnsureSuccess().Json;

        var ak = Tpm.Structures.TpmPublic.ParseTpm2b(await File.ReadAllBytesAsync(dir["ak.pub"]));
        Assert.Equal(Convert.ToHexStringLower(ak.ComputeName()), json.GetProperty("name").GetString());
        Assert.Equal("0x81010014", json.GetProperty("handle").GetString());
    }

    [Fact]
    public async Task AkEvict_NothingPersisted_ExitsOne()
    {
        var result = await RunAsync("tpm", "ak", "evict", "0x817fff00");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: nothing is persisted at handle 0x817fff00\n", result.Stderr);
    }

    [Theory]
    [InlineData("rsa", "0x81010015")]
    [InlineData("ecc", "0x81010016")]
    [Trait("Category", "Slow")]
    public async Task ActivateCredential_Tpm2MakeCredentialFile_ReturnsSecret(string ekAlg, string handle)
    {
        using var dir = new ScratchDirectory();
        (await RunAsync("tpm", "ek", "--alg", ekAlg, "--out", dir["ek.pub"])).EnsureSuccess();
        var akName = await CreateAkAsync(dir, handle);
        var secret = RandomNumberGenerator.GetBytes(32);
        await File.WriteAllBytesAsync(dir["secret"], secret);
        (await ProcessRunner.RunAsync("tpm2_makecredential",
            ["-T", "none", "-e", dir["ek.pub"], "-s", dir["secret"], "-n", akName, "-o", dir["cred"]])).EnsureSuccess("tpm2_makecredential");

        var text = (await RunAsync("tpm", "activate-credential", "--ak", handle, "--in", dir["cred"], "--ek-alg", ekAlg)).EnsureSuccess();
        var file = (await RunAsync("tpm", "activate-credential", "--ak", handle, "--in", dir["cred"], "--ek-alg", ekAlg, "--out", dir["out"])).EnsureSuccess();

        Assert.Equal(Convert.ToHexStringLower(secret) + "\n", text.Stdout);
        Assert.Equal(secret, await File.ReadAllBytesAsync(dir["out"]));
    }

    private Task<ProcessResult> CheckQuoteAsync(ScratchDirectory dir, string nonce) =>
        ProcessRunner.RunAsync("tpm2_checkquote",
            ["-u", dir["ak.pem"], "-m", dir["msg"], "-s", dir["sig"], "-f", dir["pcrs"], "-l", "sha256:0,1,15", "-g", "sha256", "-q", nonce]);
}

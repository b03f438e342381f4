using TrustLaunch.Testing;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Cli.Tests.Commands;

public sealed class TpmInspectCommandsTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>
{
    private Task<CliResult> RunAsync(params string[] args) => CliHarness.RunAsync([.. args, "--tpm", tpm.Tcti]);

    [Fact]
    public async Task Info_Text_ShowsManufacturerAndBanks()
    {
        var result = (await RunAsync("tpm", "info")).EnsureSuccess();

        Assert.Contains("manufacturer:  IBM", result.Stdout);
        Assert.Contains("pcr banks:     sha1(24) sha256(24)", result.Stdout);
        Assert.Empty(result.Stderr);
    }

    [Fact]
    public async Task Info_Json_ParsesWithAlgorithmsAndBanks()
    {
        var json = (await RunAsync("tpm", "info", "--json")).EnsureSuccess().Json;

        Assert.Equal("IBM", json.GetProperty("manufacturer").GetString());
        Assert.StartsWith("2.0 rev", json.GetProperty("spec_version").GetString());
        Assert.Contains("sha256", json.GetProperty("algorithms").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(24, json.GetProperty("pcr_banks").GetProperty("sha256").GetArrayLength());
    }

    [Fact]
    public async Task Pcrs_BankAndList_PrintsOnlyThoseLikeTpm2PcrRead()
    {
        var result = (await RunAsync("tpm", "pcrs", "--bank", "sha256", "--pcr", "0,1,15")).EnsureSuccess();

        var lines = result.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(["sha256:", "  0 ", "  1 ", "  15"], lines.Select(l => l.Length > 4 && l.StartsWith(' ') ? l[..4] : l));
        var theirs = await tpm.Tpm2Async("tpm2_pcrread", "sha256:15");
        Assert.Contains(lines[3].Split(": ")[1], theirs.StandardOutput);
    }

    [Fact]
    public async Task Pcrs_NoOptions_ReadsEveryAllocatedBank()
    {
        var json = (await RunAsync("tpm", "pcrs", "--json")).EnsureSuccess().Json;

        var banks = json.GetProperty("banks");
        Assert.Equal(["sha1", "sha256"], banks.EnumerateObject().Select(p => p.Name));
        Assert.Equal(24, banks.GetProperty("sha256").EnumerateObject().Count());
        Assert.Equal(40, banks.GetProperty("sha1").GetProperty("23").GetString()!.Length);
    }

    [Fact]
    public async Task Pcrs_UnallocatedBank_ExitsTwo()
    {
        var result = await RunAsync("tpm", "pcrs", "--bank", "sha384");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: the TPM has no sha384 bank allocated; it has sha1, sha256\n", result.Stderr);
    }

    [Fact]
    public async Task Ek_Out_WritesTpm2bPublicWhoseNameMatchesTpm2ReadPublic()
    {
        using var dir = new ScratchDirectory();
        var json = (await RunAsync("tpm", "ek", "--out", dir["ek.pub"], "--json")).EnsureSuccess().Json;

        var ek = TpmPublic.ParseTpm2b(await File.ReadAllBytesAsync(dir["ek.pub"]));
        var name = Convert.ToHexStringLower(ek.ComputeName());
        Assert.Equal(name, json.GetProperty("name").GetString());
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", json.GetProperty("public_pem").GetString());
        Assert.Equal("CN=swtpm-localca", json.GetProperty("certificate").GetProperty("issuer").GetString());
        Assert.True(File.Exists(dir["ek.pub.crt"]));

        // swtpm_setup persisted an EK from the same default template.
        var theirs = await tpm.Tpm2Async("tpm2_readpublic", "-c", $"0x{SwtpmFixture.PersistentRsaEk:x8}");
        Assert.Contains($"name: {name}", theirs.StandardOutput);
    }

    [Fact]
    public async Task Ek_Ecc_CreatesP256KeyAndLeavesNoTransientHandle()
    {
        var result = (await RunAsync("tpm", "ek", "--alg", "ecc", "--json")).EnsureSuccess();

        Assert.Equal("ecc", result.Json.GetProperty("type").GetString());
        using var device = tpm.OpenDevice();
        Assert.Empty(await device.GetHandlesAsync(Tpm.TpmHandles.TransientFirst));
    }
}

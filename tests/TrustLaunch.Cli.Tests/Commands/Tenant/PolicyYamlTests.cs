using System.Text.Json;
using TrustLaunch.Cli.Commands.Policy;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Cli.Tests.Commands.Tenant;

/// <summary>YAML policies read as their JSON twins; refusals name the file, line and column. Refused before any verifier is asked.</summary>
public sealed class PolicyYamlTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private const string Json = """
        {"name":"prod","trusted_publishers":{"kid1":"publisher.pem"},"allowed_image_digests":["sha256:aaaa"],
         "allowed_publishers":["kid1"],"allowed_namespaces":["team-a","team-b"],"launch_pcr":16,
         "expected_pcrs":{"7":"0000"},"exec":["/bin/sh"],"allow_host_network":true,"allow_unconfined_seccomp":false,
         "golden_trust":{"revoked":["sha256:bbbb"]}}
        """;

    private const string Yaml = """
        # the same policy as Json
        name: prod
        trusted_publishers:
          kid1: publisher.pem
        allowed_image_digests: [sha256:aaaa]
        allowed_publishers:
          - kid1
        allowed_namespaces: [team-a, "team-b"]
        launch_pcr: 16
        expected_pcrs:
          7: "0000"
        exec: [/bin/sh]
        allow_host_network: true
        allow_unconfined_seccomp: false
        golden_trust:
          revoked: [sha256:bbbb]
        """;

    private async Task<PolicyDocument> ReadAsync(string name, string text)
    {
        await File.WriteAllTextAsync(_scratch["publisher.pem"], "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n");
        await File.WriteAllTextAsync(_scratch[name], text);
        return await PolicyFile.ReadAsync(new FileInfo(_scratch[name]), CancellationToken.None);
    }

    private async Task<CliResult> AddAsync(string name, string text)
    {
        await File.WriteAllTextAsync(_scratch[name], text);
        // A closed port: each refusal here comes from reading the file, before any call.
        return await CliHarness.RunAsync("policy", "add", _scratch[name], "--verifier", "https://127.0.0.1:1", "--tls-dir", _scratch.Path);
    }

    [Fact]
    public async Task Read_YamlTwinOfAJsonPolicy_TheSameDocument()
    {
        var json = await ReadAsync("prod.json", Json);
        var yaml = await ReadAsync("prod.yaml", Yaml);

        Assert.Equal(JsonSerializer.Serialize(json, ContractsJsonContext.Default.PolicyDocument),
            JsonSerializer.Serialize(yaml, ContractsJsonContext.Default.PolicyDocument));
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", yaml.TrustedPublishers["kid1"], StringComparison.Ordinal);
        Assert.Equal(["team-a", "team-b"], yaml.AllowedNamespaces);
        Assert.True(yaml.AllowHostNetwork);
    }

    [Fact]
    public async Task Add_YamlWithAMisspeltMember_RefusedWithLineAndColumn()
    {
        var result = await AddAsync("typo.yml", "name: prod\nlaunch_pcr: 16\n  \nallowed_namspaces: [team-a]\n");

        Assert.Equal((2, $"error: {_scratch["typo.yml"]}:4:1: 'allowed_namspaces' is not a policy member (expected one of name, trusted_publishers, "
            + "allowed_image_digests, allowed_publishers, allowed_namespaces, launch_pcr, expected_pcrs, exec, allow_host_network, allow_unconfined_seccomp, golden_trust)\n"),
            (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task Add_JsonWithAMisspeltMember_Refused()
    {
        var result = await AddAsync("typo.json", """{"name":"prod","launch_pcr":16,"allowed_namspaces":["team-a"]}""");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith($"error: policy file {_scratch["typo.json"]}: The JSON property 'allowed_namspaces' could not be mapped to any .NET member", result.Stderr,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_YamlThatDoesNotParse_RefusedWithLineAndColumn()
    {
        var unterminated = await AddAsync("bad.yaml", "name: prod\nexec: \"allow\n");
        var broken = await AddAsync("broken.yaml", "name: prod\nallowed_namespaces: [team-a\nlaunch_pcr: 16\n");

        Assert.Equal((2, $"error: {_scratch["bad.yaml"]}:2:7: not valid YAML: While scanning a quoted scalar, found unexpected end of stream.\n"),
            (unterminated.ExitCode, unterminated.Stderr));
        Assert.Equal((2, $"error: {_scratch["broken.yaml"]}: not valid YAML: Operation is not valid due to the current state of the object.\n"),
            (broken.ExitCode, broken.Stderr));
    }

    [Theory]
    [InlineData("name: &n prod\n", "1:7: anchors, aliases and tags are not allowed")]
    [InlineData("name: prod\nname: test\n", "2:1: duplicate key 'name' (first at line 1)")]
    [InlineData("- name\n", "1:1: must be a mapping of policy members")]
    [InlineData("name: prod\n---\nname: test\n", "2:1: holds more than one YAML document")]
    public async Task Add_YamlOutsideThePolicySubset_Refused(string yaml, string reason)
    {
        var result = await AddAsync("subset.yaml", yaml);

        Assert.Equal((2, $"error: {_scratch["subset.yaml"]}:{reason}\n"), (result.ExitCode, result.Stderr));
    }
}

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using TrustLaunch.Cli.Output;
using TrustLaunch.Kbs.Policy;
using TrustLaunch.Kbs.Resources;

namespace TrustLaunch.Cli.Commands.Kbs;

/// <summary>
/// <c>trustlaunch kbs resource put PATH --file F | get PATH [--out F] | list | rm PATH</c> and
/// <c>trustlaunch kbs policy put FILE | show</c>: the key broker's admin API (kbs-admin certificate).
/// </summary>
public static class KbsCommand
{
    public static Command Create(GlobalOptions options)
    {
        var admin = new KbsAdminOptions();
        var kbs = new Command("kbs", "The key broker: its resources and resource policy (admin API); get-resource on a node");
        var resource = new Command("resource", "Resources the broker releases to attested nodes (repository/type/tag)");
        foreach (var command in new[] { PutResource(admin), GetResource(admin), ListResources(options, admin), RemoveResource(admin) })
            resource.Subcommands.Add(command);
        var policy = new Command("policy", "The resource policy (each put makes a new version; none: everything is denied)");
        foreach (var command in new[] { PutPolicy(options, admin), ShowPolicy(options, admin) })
            policy.Subcommands.Add(command);
        admin.AddTo(resource);
        admin.AddTo(policy);
        kbs.Subcommands.Add(resource);
        kbs.Subcommands.Add(policy);
        kbs.Subcommands.Add(KbsGetResourceCommand.Create());
        return kbs;
    }

    private static Argument<string> PathArgument() => new("PATH") { Description = "repository/type/tag (kbs:///repository/type/tag also accepted)" };

    private static ResourcePath ParsePath(ParseResult parse, Argument<string> argument)
    {
        var text = parse.GetValue(argument)!;
        const string local = "kbs:///";
        try
        {
            return ResourcePath.Parse(text.StartsWith(local, StringComparison.Ordinal) ? text[local.Length..] : text);
        }
        catch (FormatException e)
        {
            throw new CliUsageException(e.Message);
        }
    }

    private static Command PutResource(KbsAdminOptions admin)
    {
        var path = PathArgument();
        var file = new Option<FileInfo>("--file") { Description = "The resource's bytes", HelpName = "FILE", Required = true };
        var command = new Command("put", "Store a resource (replacing one at the same path)") { path, file };
        command.SetAction(async (parse, ct) =>
        {
            var resourcePath = ParsePath(parse, path);
            var source = parse.GetValue(file)!;
            if (!source.Exists)
                throw new CliUsageException($"--file {source.FullName} does not exist");
            if (source.Length > TrustLaunch.Kbs.Apis.AdminApi.MaxResourceBytes)
                throw new CliUsageException($"--file {source.FullName} is larger than {TrustLaunch.Kbs.Apis.AdminApi.MaxResourceBytes} bytes");
            var bytes = await File.ReadAllBytesAsync(source.FullName, ct).ConfigureAwait(false);
            try
            {
                await admin.CallAsync(parse, async c =>
                {
                    await c.PutResourceAsync(resourcePath, bytes, ct).ConfigureAwait(false);
                    return true;
                }).ConfigureAwait(false);
            }
            finally
            {
                Array.Clear(bytes);
            }
            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"resource {resourcePath} stored ({bytes.Length} bytes)")).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command GetResource(KbsAdminOptions admin)
    {
        var path = PathArgument();
        var output = KbsGetResourceCommand.OutOption();
        var command = new Command("get", "Print a resource's bytes") { path, output };
        command.SetAction(async (parse, ct) =>
        {
            var resourcePath = ParsePath(parse, path);
            var bytes = await admin.CallAsync(parse, c => c.GetResourceAsync(resourcePath, ct)).ConfigureAwait(false)
                ?? throw new CliFailureException($"no resource {resourcePath}");
            try
            {
                await KbsGetResourceCommand.WriteAsync(parse.GetValue(output), bytes, ct).ConfigureAwait(false);
            }
            finally
            {
                Array.Clear(bytes);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command ListResources(GlobalOptions options, KbsAdminOptions admin)
    {
        var command = new Command("list", "List resources (paths, sizes, when stored; never the bytes)");
        command.SetAction(async (parse, ct) =>
        {
            var list = await admin.CallAsync(parse, c => c.ListResourcesAsync(ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(list, KbsAdminJsonContext.Default.IReadOnlyListResourceListing, (w, entries) =>
            {
                if (entries.Count == 0)
                {
                    w.WriteLine("no resources");
                    return;
                }
                foreach (var e in entries)
                    w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{e.Path,-50} {e.Size,10} {e.Updated:yyyy-MM-dd HH:mm:ss}Z"));
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static Command RemoveResource(KbsAdminOptions admin)
    {
        var path = PathArgument();
        var command = new Command("rm", "Delete a resource") { path };
        command.SetAction(async (parse, ct) =>
        {
            var resourcePath = ParsePath(parse, path);
            if (!await admin.CallAsync(parse, c => c.DeleteResourceAsync(resourcePath, ct)).ConfigureAwait(false))
                throw new CliFailureException($"no resource {resourcePath}");
            await Console.Out.WriteLineAsync($"resource {resourcePath} removed").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command PutPolicy(GlobalOptions options, KbsAdminOptions admin)
    {
        var file = new Argument<FileInfo>("FILE")
        {
            Description = "Resource policy JSON: {\"rules\":[{\"resources\":[\"repo/type/*\"],\"agents\":[…],\"verifier_policies\":[…],\"image_digests\":[…],\"namespaces\":[…]}]}",
        };
        var command = new Command("put", "Store a new version of the resource policy") { file };
        command.SetAction(async (parse, ct) =>
        {
            var source = parse.GetValue(file)!;
            if (!source.Exists)
                throw new CliUsageException($"policy file {source.FullName} does not exist");
            var json = await File.ReadAllBytesAsync(source.FullName, ct).ConfigureAwait(false);
            try
            {
                ResourcePolicy.Parse(0, System.Text.Encoding.UTF8.GetString(json));
            }
            catch (FormatException e)
            {
                throw new CliUsageException($"policy file {source.FullName}: {e.Message}");
            }
            var version = await admin.CallAsync(parse, c => c.PutPolicyAsync(json, ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(new ResourcePolicyVersion(version), KbsAdminJsonContext.Default.ResourcePolicyVersion,
                (w, v) => w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resource policy v{v.Version} stored"))).ConfigureAwait(false);
        });
        return command;
    }

    private static Command ShowPolicy(GlobalOptions options, KbsAdminOptions admin)
    {
        var command = new Command("show", "Print the current resource policy and its version (0: none, everything denied)");
        command.SetAction(async (parse, ct) =>
        {
            var view = await admin.CallAsync(parse, c => c.GetPolicyAsync(ct)).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(view, KbsAdminJsonContext.Default.ResourcePolicyView, (w, v) =>
            {
                w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resource policy v{v.Version}"));
                w.WriteLine(JsonSerializer.Serialize(v.Policy, KbsAdminJsonContext.Default.ResourcePolicyDocument));
            }).ConfigureAwait(false);
        });
        return command;
    }
}

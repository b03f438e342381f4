using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Secrets;

namespace TrustLaunch.Agent.Cri;

/// <summary>
/// Sealed secrets on kubelet's path, as Confidential Containers opens them: at CreateContainer every env value of the
/// form <c>sealed.…</c> is unsealed and replaced by its value, and every mount whose host file (or a file of whose
/// host directory, a Kubernetes secret volume) holds a <c>sealed.…</c> secret is replaced by a read-only tmpfs under
/// <c>DATA/cri-secrets/SANDBOX/NAME-ATTEMPT</c> holding the values (the directory's other files copied). Each is
/// measured <c>SecretReleased</c> by the unsealer; a refusal refuses CreateContainer. Env values end up in the OCI spec
/// containerd stores on disk (its metadata database): only mounted files stay off disk.
/// </summary>
public sealed class CriSealedSecrets(string directory, SecretUnsealer? unseal, string notConfiguredReason)
{
    /// <summary>A directory with more entries than this is not a secret volume and is not read.</summary>
    public const int MaxVolumeEntries = 256;

    /// <summary>Kubernetes' limit for a whole secret: a larger file beside a sealed one is refused, not copied.</summary>
    public const int MaxVolumeFileBytes = 1024 * 1024;

    /// <summary>Refuses every sealed value (a CRI endpoint outside an agent started with <c>--kbs</c> and <c>--secret-trust</c>).</summary>
    public static readonly CriSealedSecrets Refusing = new("", null, "this CRI endpoint opens no sealed secrets: it runs without an agent's --kbs and --secret-trust");

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The request to forward (the same one when nothing in it is sealed), the tmpfs made for it, and the env names unsealed with their sealed forms.</summary>
    public sealed record Prepared(CreateContainerRequest Request, string? Tmpfs, IReadOnlyDictionary<string, string> SealedEnv);

    /// <exception cref="Grpc.Core.RpcException">PermissionDenied <c>NOT verified: secret 'NAME' refused: …</c>.</exception>
    public async Task<Prepared> PrepareAsync(CreateContainerRequest request, CancellationToken cancellationToken)
    {
        var config = request.Config;
        var env = config.Envs.Select((e, i) => (Index: i, e.Key, e.Value)).Where(e => e.Value.StartsWith(SealedSecret.Prefix, StringComparison.Ordinal)).ToList();
        var mounts = config.Mounts.Select((m, i) => (Index: i, Files: SealedFilesOf(m.HostPath))).Where(m => m.Files is not null).ToList();
        if (env.Count == 0 && mounts.Count == 0)
            return new Prepared(request, null, new Dictionary<string, string>());
        if (unseal is null)
            throw CriInterception.Refusal($"secret '{(env.Count > 0 ? env[0].Key : mounts[0].Files![0].Name)}' refused: {notConfiguredReason}");

        var forward = request.Clone();
        var sealedEnv = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (index, key, sealedText) in env)
        {
            var value = await UnsealAsync(key, sealedText, cancellationToken).ConfigureAwait(false);
            try
            {
                forward.Config.Envs[index].Value = StrictUtf8.GetString(value) is var text && !text.Contains('\0', StringComparison.Ordinal)
                    ? text
                    : throw CriInterception.Refusal($"secret '{key}' holds a NUL byte: it cannot be an environment value");
            }
            catch (DecoderFallbackException)
            {
                throw CriInterception.Refusal($"secret '{key}' is not UTF-8 text: it cannot be an environment value");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(value);
            }
            sealedEnv[key] = sealedText;
        }
        if (mounts.Count == 0)
            return new Prepared(forward, null, sealedEnv);

        if (!IsFileName(request.PodSandboxId) || !IsFileName(config.Metadata?.Name ?? ""))
            throw new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.InvalidArgument,
                "CreateContainer with sealed secrets needs a pod sandbox id and a container name that are file names"));
        var tmpfs = Path.Combine(directory, request.PodSandboxId, $"{config.Metadata!.Name}-{config.Metadata.Attempt}");
        var files = new List<(string Path, byte[] Value)>();
        try
        {
            foreach (var (index, volume) in mounts)
            {
                foreach (var file in volume!)
                {
                    var relative = file.Directory ? Path.Combine($"mount-{index}", file.Name) : $"mount-{index}";
                    files.Add((relative, file.SealedText is { } sealedText ? await UnsealAsync(file.Name, sealedText, cancellationToken).ConfigureAwait(false) : file.Plain!));
                }
            }
            Remove(tmpfs);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(tmpfs)!);
            ContainerSecrets.MountFiles(tmpfs, files);
        }
        catch
        {
            Remove(tmpfs);
            throw;
        }
        finally
        {
            foreach (var (_, value) in files)
                CryptographicOperations.ZeroMemory(value);
        }
        foreach (var (index, _) in mounts)
        {
            forward.Config.Mounts[index].HostPath = Path.Combine(tmpfs, $"mount-{index}");
            forward.Config.Mounts[index].Readonly = true;
        }
        return new Prepared(forward, tmpfs, sealedEnv);
    }

    /// <summary>Unmounts and deletes <paramref name="tmpfs"/> (a container's), when there.</summary>
    public static void Remove(string? tmpfs)
    {
        if (tmpfs is null || !System.IO.Directory.Exists(tmpfs))
            return;
        OverlayRootfs.Unmount(tmpfs);
        System.IO.Directory.Delete(tmpfs, recursive: true);
    }

    /// <summary>Every container tmpfs of <paramref name="sandbox"/>, after its removal (also those a restarted agent no longer tracks).</summary>
    public void RemoveSandbox(string sandbox)
    {
        var root = Path.Combine(directory, sandbox);
        if (!IsFileName(sandbox) || !System.IO.Directory.Exists(root))
            return;
        foreach (var tmpfs in System.IO.Directory.GetDirectories(root))
            Remove(tmpfs);
        System.IO.Directory.Delete(root, recursive: true);
    }

    private static bool IsFileName(string name) =>
        name.Length is > 0 and <= 200 && name is not ("." or "..") && name.AsSpan().IndexOfAny("/\\\0") < 0;

    private async Task<byte[]> UnsealAsync(string name, string sealedText, CancellationToken cancellationToken)
    {
        try
        {
            return await unseal!(name, sealedText, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SealedSecretException or KbsRefusedException or TrustLaunch.Agent.Kbs.ResourceUriRefusedException)
        {
            throw CriInterception.Refusal($"secret '{name}' refused: {e.Message}");
        }
    }

    private sealed record VolumeFile(string Name, bool Directory, string? SealedText, byte[]? Plain);

    /// <summary>
    /// The files of a mount's host path when one of them is sealed: the file itself, or a directory's visible entries
    /// (Kubernetes' <c>..data</c> layout: names not starting with '.', symlinks followed); null when nothing is sealed.
    /// </summary>
    private static List<VolumeFile>? SealedFilesOf(string hostPath)
    {
        if (hostPath.Length == 0)
            return null;
        if (File.Exists(hostPath))
            return SealedTextOf(hostPath) is { } text ? [new VolumeFile(Path.GetFileName(hostPath), false, text, null)] : null;
        if (!System.IO.Directory.Exists(hostPath))
            return null;
        var entries = System.IO.Directory.EnumerateFileSystemEntries(hostPath).Take(MaxVolumeEntries + 1).ToList();
        if (entries.Count > MaxVolumeEntries)
            return null;
        var files = entries.Where(e => !Path.GetFileName(e).StartsWith('.') && File.Exists(e)).Order(StringComparer.Ordinal).ToList();
        var sealedTexts = files.Select(SealedTextOf).ToList();
        if (sealedTexts.All(t => t is null))
            return null;
        if (files.FirstOrDefault(f => new FileInfo(f).Length > MaxVolumeFileBytes) is { } large)
            throw CriInterception.Refusal($"mount '{hostPath}' holds a sealed secret beside '{Path.GetFileName(large)}' of over {MaxVolumeFileBytes} bytes: it is not a secret volume");
        return [.. files.Select((f, i) => new VolumeFile(Path.GetFileName(f), true, sealedTexts[i], sealedTexts[i] is null ? File.ReadAllBytes(f) : null))];
    }

    /// <summary>The file's <c>sealed.…</c> text (trimmed) when that is all it holds.</summary>
    private static string? SealedTextOf(string file)
    {
        var info = new FileInfo(file);
        if (info.Length > SealedSecret.MaxLength + 2 || info.Length < SealedSecret.Prefix.Length)
            return null;
        var text = File.ReadAllText(file).Trim();
        return text.StartsWith(SealedSecret.Prefix, StringComparison.Ordinal) && !text.AsSpan().ContainsAny(" \n\r\t") ? text : null;
    }
}

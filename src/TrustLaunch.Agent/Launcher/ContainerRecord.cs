using System.Text.Json.Serialization;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// What the launcher knows of a container, kept as <c>container.json</c> in its directory. The container id given to
/// the runtime is <see cref="Name"/>; <see cref="Runtime"/> is the OCI runtime that runs it (null in records older
/// than the field: the caller's default). <see cref="Network"/> and <see cref="Seccomp"/> are what its
/// <c>ContainerCreated</c> measures (<see cref="TrustLaunch.Measurement.ContainerIsolation"/>); a record without them
/// is not started. <see cref="Secrets"/>: the sealed secrets it was given, by name and sealed digest (never a value).
/// </summary>
public sealed record ContainerRecord(
    string Name,
    string Image,
    string ImageDigest,
    string Pod,
    string Namespace,
    string ConfigDigest,
    DateTimeOffset Created,
    string? Runtime = null,
    string? Network = null,
    string? Seccomp = null,
    IReadOnlyList<ContainerSecretRecord>? Secrets = null);

/// <summary>
/// How a container ended, written by its monitor when it reaps the container's init. <see cref="ExitCode"/> is null
/// when the status was lost (its monitor died first); <see cref="Reason"/> then says so.
/// </summary>
public sealed record ContainerExit(int? ExitCode, DateTimeOffset Finished, string? Reason = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ContainerRecord))]
[JsonSerializable(typeof(ContainerExit))]
internal sealed partial class LauncherJsonContext : JsonSerializerContext;

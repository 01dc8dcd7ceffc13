/// Which family a field belongs to: `ResolvedEvent.value` dispatches on it once,
/// and each family's file computes its fields.
enum FieldFamily {
    case event, process, executable, ancestry, credentials, fd, network, container
}

extension FieldID {
    var family: FieldFamily {
        switch self {
        case .evtType, .evtDir, .evtRes, .evtRawres, .evtFailed, .evtTime, .evtNum, .evtGate, .evtArgFlags, .evtArgMode,
            .evtArgFilename, .evtArg, .evtRawarg, .evtArgs, .unavailable, .evtIsOpenRead, .evtIsOpenWrite,
            .evtIsOpenCreate:
            return .event
        case .procCwd, .procDuration, .procVpid, .procArgsTruncated, .procStdinType, .procStdoutType, .procStderrType,
            .procPid, .procPpid, .threadTid, .threadIsmain, .procName, .procCmdline, .procArgs, .procTty, .procEnv,
            .procEnvVariable, .procStdinIsFifo, .procStdoutIsFifo:
            return .process
        case .procIsExeFromMemfd, .procIsExeDeleted, .procExeLoaderTarget, .procExeWriter, .procIsExeScript, .procExe,
            .procExepath, .procIsExeUpperLayer:
            return .executable
        case .procPexe, .procSid, .procVpgid, .procIsVpgidLeader, .procAexe, .procAexepath, .procPname, .procPexepath,
            .procPcmdline, .procAname, .procApid:
            return .ancestry
        case .userLoginuid, .userLoginname, .groupName, .userUid, .userName, .groupGid, .threadCapEffective,
            .threadCapPermitted, .threadCapInheritable:
            return .credentials
        case .fdNamedInArgs, .fdWriter, .fdNameraw, .fdName, .fdDirectory, .fdFilename, .fdTypechar, .fdType,
            .fdNameChanged, .fdNum, .fdProcfsTarget:
            return .fd
        case .fdSockfamily, .fdPort, .fdConnected, .fdLport, .fdRport, .fdLip, .fdRip, .fdSipName, .fdCipName,
            .fdRipName, .fdLipName, .fdIp, .fdNet, .fdSnet, .fdCnet, .fdRnet, .fdLnet, .fdSip, .fdSport, .fdCip,
            .fdCport, .fdL4proto:
            return .network
        case .containerId, .k8sPodUid, .k8sPodName, .k8sNsName, .k8sPodLabels, .k8sNsLabels, .containerName,
            .containerImageRepository, .containerImageTag, .k8sPodLabel, .containerPrivileged:
            return .container
        }
    }
}

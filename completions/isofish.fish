# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_isofish_global_optspecs
    string join \n a/add= ro m/mount= f/file= x h/help V/version
end

function __fish_isofish_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_isofish_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_isofish_using_subcommand
    set -l cmd (__fish_isofish_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c isofish -n "__fish_isofish_needs_command" -s a -l add -d 'Add an image as the next drive (/dev/sda, /dev/sdb...); repeatable' -r -F
complete -c isofish -n "__fish_isofish_needs_command" -s m -l mount -d 'Mount DEV at MOUNTPOINT (default /) with OPTIONS; repeatable. Without -m the first image\'s filesystem is mounted at /' -r
complete -c isofish -n "__fish_isofish_needs_command" -s f -l file -d 'Run the commands in SCRIPT (\'-\' for standard input)' -r -F
complete -c isofish -n "__fish_isofish_needs_command" -l ro -d 'Read-only: no staged changes, no commit'
complete -c isofish -n "__fish_isofish_needs_command" -s x -d 'Echo each command to standard error before running it'
complete -c isofish -n "__fish_isofish_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c isofish -n "__fish_isofish_needs_command" -s V -l version -d 'Print version'
complete -c isofish -n "__fish_isofish_needs_command" -a "cat" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "cd" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "completions" -d 'Print the shell completion script for bash, zsh or fish.'
complete -c isofish -n "__fish_isofish_needs_command" -a "echo" -d 'Print the words, separated by single spaces.'
complete -c isofish -n "__fish_isofish_needs_command" -a "help" -d 'List the commands, or show one command\'s page.'
complete -c isofish -n "__fish_isofish_needs_command" -a "list-devices" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "list-filesystems" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "ls" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "mkmountpoint" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "mount" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "mount-options" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "mount-ro" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "mountpoints" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "mounts" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "open" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "pwd" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "quit" -d 'Leave the shell, or end a script here.'
complete -c isofish -n "__fish_isofish_needs_command" -a "run" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "umount" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "umount-all" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "vfs-label" -d ''
complete -c isofish -n "__fish_isofish_needs_command" -a "vfs-type" -d ''

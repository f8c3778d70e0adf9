
# The words of a command (past its name, and after each ':') are completed by isofish itself:
# `isofish [-a IMAGE]... [-m MOUNT]... --complete -- WORDS... PARTIAL` prints the candidates,
# and exits with status 1 when host file names complete the word too.
# __fish_isofish_scan prints where the command under the cursor starts (0: no command yet),
# then the options to pass on, one a line.
function __fish_isofish_scan
    set -l tokens (commandline -opc)
    set -l pass
    set -l start 0
    set -l i 2
    while test $i -le (count $tokens)
        set -l w $tokens[$i]
        if test $start -eq 0
            switch $w
                case @PASSED@
                    set -a pass $w $tokens[(math $i + 1)]
                    set i (math $i + 1)
                case @PASSED_JOINED@
                    set -a pass $w
                case @VALUED@
                    set i (math $i + 1)
                case --
                    set start (math $i + 1)
                case '-*'
                case '*'
                    set start $i
            end
        else if test "$w" = :
            set start (math $i + 1)
        end
        set i (math $i + 1)
    end
    printf '%s\n' $start $pass
end

function __fish_isofish_in_command
    set -l scan (__fish_isofish_scan)
    test $scan[1] -gt 0
end

function __fish_isofish_words
    set -l scan (__fish_isofish_scan)
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l program $tokens[1]
    test $scan[1] -gt 0; or return
    $program $scan[2..-1] --complete -- $tokens[$scan[1]..-1] $current 2>/dev/null
    or __fish_complete_path $current
end

complete -c isofish -n "__fish_isofish_needs_command" -f
complete -c isofish -n "__fish_isofish_in_command" -f -a "(__fish_isofish_words)"

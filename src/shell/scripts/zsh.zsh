# The words of a command (past its name, and after each ':') are completed by isofish itself:
# `isofish [-a IMAGE]... [-m MOUNT]... --complete -- WORDS... PARTIAL` prints the candidates,
# and exits with status 1 when host file names complete the word too.
_isofish_line() {
    local i w out st start=0
    local -a pass found finished unfinished
    for (( i = 2; i < CURRENT; i++ )); do
        w=${(Q)words[i]}
        if (( start == 0 )); then
            case $w in
                (@PASSED@) pass+=("$w" "${(Q)words[i+1]}"); (( i++ )); continue ;;
                (@PASSED_JOINED@) pass+=("$w"); continue ;;
                (@VALUED@) (( i++ )); continue ;;
                (--) start=$(( i + 1 )); continue ;;
                (-*) continue ;;
            esac
            start=$i
        elif [[ $w == : ]]; then
            start=$(( i + 1 ))
        fi
    done
    if (( start == 0 )); then
        _isofish "$@"
        return
    fi
    out=$("${(Q)words[1]/#\~/$HOME}" "${pass[@]}" --complete -- "${(@Q)words[start,CURRENT-1]}" "${(Q)PREFIX}" 2>/dev/null)
    st=$?
    found=(${(f)out})
    for w in $found; do
        if [[ $w == */ || $w == *: ]]; then
            unfinished+=("$w")
        else
            finished+=("$w")
        fi
    done
    (( $#finished )) && compadd -- "${finished[@]}"
    (( $#unfinished )) && compadd -S '' -- "${unfinished[@]}"
    (( st != 0 )) && _files
    return 0
}



# The blueprint's {{ hook }} script, in its own process so that its exit code is its own.
u=$(mktemp)
cat >"$u" <<'NBSYNTH_USER_EOF'
{{ user_script }}NBSYNTH_USER_EOF
rc=0
bash "$u" || rc=$?
rm -f "$u"
log "the blueprint's {{ hook }} script ended with exit code $rc"
exit "$rc"

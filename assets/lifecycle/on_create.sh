{% include "head.sh" %}
{% include "user.sh" %}
